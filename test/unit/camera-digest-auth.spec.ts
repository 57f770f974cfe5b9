import { strict as assert } from 'node:assert';
import {
  basicAuthorization,
  DigestSession,
  isUsableDigest,
  parseWwwAuthenticate,
  pickChallenge,
} from '../../lib/camera/digest-auth';

function param(header: string, name: string): string | undefined {
  const m = new RegExp(`${name}=("([^"]*)"|[^,\\s]+)`).exec(header);
  return m ? (m[2] ?? m[1]) : undefined;
}

describe('camera HTTP authentication', () => {
  it('parses several challenges, quoted values with escapes, and token values', () => {
    const challenges = parseWwwAuthenticate([
      'Digest realm="cam \\"A\\"", qop="auth,auth-int", nonce="abc", opaque=xyz, algorithm=MD5',
      'Basic realm="cam"',
    ]);
    assert.equal(challenges.length, 2);
    assert.deepEqual(challenges[0], {
      scheme: 'digest',
      params: { realm: 'cam "A"', qop: 'auth,auth-int', nonce: 'abc', opaque: 'xyz', algorithm: 'MD5' },
    });
    assert.deepEqual(challenges[1], { scheme: 'basic', params: { realm: 'cam' } });
    const joined = parseWwwAuthenticate('Basic realm="a", Digest realm="b", nonce="n"');
    assert.deepEqual(
      joined.map((c) => c.scheme),
      ['basic', 'digest'],
    );
    assert.deepEqual(parseWwwAuthenticate(undefined), []);
  });

  it('prefers a usable Digest challenge over Basic, and SHA-256 over MD5', () => {
    const list = parseWwwAuthenticate([
      'Basic realm="x"',
      'Digest realm="x", nonce="1", algorithm=MD5, qop="auth"',
      'Digest realm="x", nonce="2", algorithm=SHA-256, qop="auth"',
    ]);
    assert.equal(pickChallenge(list)?.params.nonce, '2');
    assert.equal(pickChallenge(parseWwwAuthenticate('Basic realm="x"'))?.scheme, 'basic');
    // auth-int only, or an unknown algorithm: unusable
    assert.equal(
      isUsableDigest(parseWwwAuthenticate('Digest realm="x", nonce="1", qop="auth-int"')[0]!),
      false,
    );
    assert.equal(
      isUsableDigest(parseWwwAuthenticate('Digest realm="x", nonce="1", algorithm=SHA-512')[0]!),
      false,
    );
    assert.equal(pickChallenge(parseWwwAuthenticate('Bearer realm="x"')), undefined);
  });

  it('computes the RFC 2617 example response (MD5, qop=auth)', () => {
    const [challenge] = parseWwwAuthenticate(
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
    const session = new DigestSession(challenge!);
    const header = session.authorize('GET', '/dir/index.html', 'Mufasa', 'Circle Of Life', '0a4f113b');
    assert.equal(param(header, 'response'), '6629fae49393a05397450978507c4ef1');
    assert.equal(param(header, 'nc'), '00000001');
    assert.equal(param(header, 'qop'), 'auth');
    assert.equal(param(header, 'opaque'), '5ccc069c403ebaf9f0171e9517f40e41');
    assert.equal(param(header, 'uri'), '/dir/index.html');
    assert.ok(header.startsWith('Digest '));
  });

  it('computes the RFC 7616 examples (MD5 and SHA-256)', () => {
    const base =
      'realm="http-auth@example.org", qop="auth, auth-int", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
    const cnonce = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
    const md5 = new DigestSession(parseWwwAuthenticate(`Digest ${base}, algorithm=MD5`)[0]!);
    assert.equal(
      param(md5.authorize('GET', '/dir/index.html', 'Mufasa', 'Circle of Life', cnonce), 'response'),
      '8ca523f5e9506fed4657c9700eebdbec',
    );
    const sha = new DigestSession(parseWwwAuthenticate(`Digest ${base}, algorithm=SHA-256`)[0]!);
    const header = sha.authorize('GET', '/dir/index.html', 'Mufasa', 'Circle of Life', cnonce);
    assert.equal(
      param(header, 'response'),
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    );
    assert.equal(param(header, 'algorithm'), 'SHA-256');
  });

  it('counts nc up with each request on one challenge', () => {
    const session = new DigestSession(parseWwwAuthenticate('Digest realm="r", nonce="n", qop="auth"')[0]!);
    const ncs = [1, 2, 3].map(() => param(session.authorize('GET', '/api/system', 'u', 'p'), 'nc'));
    assert.deepEqual(ncs, ['00000001', '00000002', '00000003']);
  });

  it('answers a legacy challenge without qop (RFC 2069 form, no nc/cnonce)', () => {
    const session = new DigestSession(
      parseWwwAuthenticate(
        'Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"',
      )[0]!,
    );
    const header = session.authorize('GET', '/dir/index.html', 'Mufasa', 'Circle Of Life');
    assert.equal(param(header, 'response'), '670fd8c2df070c60b045671b8b24ff02');
    assert.equal(param(header, 'nc'), undefined);
    assert.equal(param(header, 'cnonce'), undefined);
  });

  it('builds a Basic header from UTF-8 credentials', () => {
    assert.equal(basicAuthorization('Aladdin', 'open sesame'), 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
    assert.equal(basicAuthorization('ü', 'p'), `Basic ${Buffer.from('ü:p').toString('base64')}`);
  });
});
