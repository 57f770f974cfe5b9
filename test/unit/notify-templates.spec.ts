import { strict as assert } from 'node:assert';
import type { Notification } from '../../lib/notify/notification';
import {
  Template,
  TemplateError,
  describe as describeNotification,
  escapeHtml,
  formatDuration,
  formatTime,
  parseEmailTemplates,
  renderEmail,
  templateData,
} from '../../lib/notify/templates';

const settings = { site: 'Plant A', timeZone: 'Europe/Berlin', dashboardUrl: 'http://nr:1880/ui' };

const recording: Notification = {
  kind: 'recording',
  id: 'recording:PF-1:f1',
  at: '2025-03-04T13:05:09.000Z',
  camera: { serialNumber: 'PF-1', name: 'Gate <2>' },
  recording: {
    id: 7,
    fileName: 'f1',
    eventName: '<script>alert(1)</script>',
    triggeredAtUtc: '2025-03-04T13:05:09.000Z',
    playbackTime: 75,
  },
};

describe('Template', () => {
  it('renders names, dotted names, sections, lists and inverted sections', () => {
    const t = Template.parse(
      '{{a}} {{o.b}} {{#flag}}yes{{/flag}}{{^flag}}no{{/flag}} [{{#list}}{{x}},{{/list}}] {{^none}}empty{{/none}}',
    );
    assert.equal(
      t.render({ a: 'A', o: { b: 'B' }, flag: true, list: [{ x: '1' }, { x: '2' }], none: [] }),
      'A B yes [1,2,] empty',
    );
    assert.equal(t.render({ flag: false }), '  no [] empty');
  });

  it('escapes in HTML mode except in triple braces, and never runs code', () => {
    const t = Template.parse('{{v}}|{{{v}}}|{{&v}}|{{constructor}}|{{toString}}|{{__proto__}}|{{! note }}');
    assert.equal(
      t.render({ v: '<b>"x"</b>' }, escapeHtml),
      '&lt;b&gt;&quot;x&quot;&lt;/b&gt;|<b>"x"</b>|<b>"x"</b>||||',
    );
    const fn = Template.parse('{{f}}');
    assert.equal(fn.render({ f: (() => 'ran') as unknown as string }), '');
  });

  it('reports template mistakes with the line', () => {
    assert.throws(
      () => Template.parse('a\n{{#x}}b'),
      (e: unknown) => e instanceof TemplateError && /line 2/.test(e.message),
    );
    assert.throws(() => Template.parse('{{#x}}{{/y}}'), /where "\{\{\/x\}\}" was expected/);
    assert.throws(() => Template.parse('{{a'), /unclosed/);
    assert.throws(() => Template.parse('{{a b}}'), /bad name/);
  });
});

describe('notification texts', () => {
  it('formats times in the site time zone and durations for people', () => {
    assert.equal(formatTime('2025-03-04T13:05:09Z', 'Europe/Berlin'), '2025-03-04 14:05:09 CET');
    assert.equal(formatTime('2025-07-04T13:05:09Z', 'Europe/Berlin'), '2025-07-04 15:05:09 CEST');
    assert.equal(formatTime('2025-07-04T13:05:09Z', 'UTC'), '2025-07-04 13:05:09 UTC');
    assert.equal(formatDuration(12), '12 s');
    assert.equal(formatDuration(75), '1 min 15 s');
  });

  it('renders the default email with the camera, event, local time, clip length and link, HTML escaped', () => {
    const mail = renderEmail(
      parseEmailTemplates({}),
      templateData(recording, settings, { thumbnail: 'cid1' }),
    );
    assert.equal(mail.subject, '[Plant A] New recording on Gate <2>');
    assert.match(mail.text, /Event: <script>alert\(1\)<\/script>/);
    assert.match(mail.text, /Time: 2025-03-04 14:05:09 CET/);
    assert.match(mail.text, /Clip length: 1 min 15 s/);
    assert.match(mail.text, /http:\/\/nr:1880\/ui\?event=7/);
    assert.doesNotMatch(mail.html, /<script>/);
    assert.match(mail.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(mail.html, /src="cid:cid1"/);
    assert.match(mail.html, /Gate &lt;2&gt;/);
  });

  it('describes a group as a count between two local times', () => {
    const grouped: Notification = {
      ...recording,
      group: {
        count: 12,
        firstAt: '2025-03-04T13:05:10Z',
        lastAt: '2025-03-04T13:05:59Z',
        items: [{ at: '2025-03-04T13:05:10Z', label: 'door' }],
      },
    };
    const d = describeNotification(grouped, settings);
    assert.equal(d.title, '12 new recordings on Gate <2>');
    assert.match(d.message, /between 2025-03-04 14:05:10 CET and 2025-03-04 14:05:59 CET/);
    const mail = renderEmail(parseEmailTemplates({}), templateData(grouped, settings));
    assert.match(mail.text, /- 2025-03-04 14:05:10 CET door/);
    assert.doesNotMatch(mail.html, /cid:/);
  });

  it('uses edited templates', () => {
    const t = parseEmailTemplates({
      subject: 'ALERT {{camera}}\r\nBcc: x@y.z',
      text: '{{kind}}/{{severity}}',
    });
    const mail = renderEmail(t, templateData(recording, settings));
    assert.equal(mail.subject, 'ALERT Gate <2> Bcc: x@y.z');
    assert.equal(mail.text, 'recording/info');
  });
});
