/*
 * The live view's front end: two custom elements, no globals.
 *   <pfcam-live-grid api="/pfcam/api">  a grid of every camera the user may watch (stills refreshed once a
 *                                       minute, live on click), opening a panel per camera. With
 *                                       camera="SERIAL" it shows that one camera (a camera card's live panel):
 *                                       its still, live in place on click, "Stop live" back to the still.
 *   <pfcam-live-panel api="/pfcam/api" camera="SERIAL" name="...">  one camera live: fMP4 over a WebSocket
 *                                       into Media Source Extensions (kept near the live edge), MJPEG through
 *                                       an <img> as the fallback; state, snapshot, "save as recording".
 * Data comes from the session-checked API (cookies, same origin). Camera names are set as text only.
 * Moving an element in the page (a screen redrawn around it) does not restart its stream: the stop on
 * disconnect waits a microtask and is skipped when the element is back in the document.
 */
(function () {
  'use strict';

  const STILL_REFRESH_MS = 60000;
  const STATE_POLL_MS = 2000;
  const FALLBACK_AFTER_MS = 6000;
  const LABELS = {
    idle: 'idle',
    connecting: 'connecting',
    live: 'live',
    reconnecting: 'reconnecting',
    offline: 'camera offline',
    unavailable: 'unavailable',
  };

  const STYLE = `
    :host { display: block; font: 14px/1.4 system-ui, sans-serif; }
    .grid { display: grid; gap: 8px; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); }
    .tile { position: relative; border: 1px solid #8884; border-radius: 6px; overflow: hidden; cursor: pointer;
            background: #111; color: #fff; padding: 0; text-align: left; }
    .tile img { display: block; width: 100%; aspect-ratio: 16 / 9; object-fit: cover; background: #222; }
    .grid.single { grid-template-columns: 1fr; }
    [hidden] { display: none !important; }
    .tile .name { display: block; padding: 4px 8px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
    .badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; background: #555; color: #fff; }
    .badge[data-state="live"] { background: #2a7d2a; }
    .badge[data-state="connecting"], .badge[data-state="reconnecting"] { background: #a67c00; }
    .badge[data-state="offline"] { background: #a12b2b; }
    .panel { display: flex; flex-direction: column; gap: 6px; }
    .panel .bar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; }
    .panel .title { font-weight: 600; flex: 1 1 auto; min-width: 0; overflow: hidden; text-overflow: ellipsis; }
    .panel video, .panel img.live { width: 100%; max-height: 80vh; background: #000; aspect-ratio: 16 / 9; object-fit: contain; }
    button { font: inherit; padding: 4px 10px; min-height: 36px; }
    .msg { font-size: 12px; opacity: 0.8; min-height: 1em; }
    @media (max-width: 600px) { .grid { grid-template-columns: 1fr 1fr; } button { flex: 1 1 40%; } }
  `;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function apiBase(host) {
    return (host.getAttribute('api') || '/pfcam/api').replace(/\/+$/, '');
  }

  async function getJson(url) {
    const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    return res.json();
  }

  /** The MSE player of one camera; calls onFallback() when fMP4 cannot play. */
  class Fmp4Player {
    constructor(video, url, handlers) {
      this.video = video;
      this.url = url;
      this.handlers = handlers;
      this.queue = [];
      this.closed = false;
      this.gotFragment = false;
      this.fallbackTimer = setTimeout(
        () => this.fail('no video within ' + FALLBACK_AFTER_MS + ' ms'),
        FALLBACK_AFTER_MS,
      );
      this.driftTimer = setInterval(() => this.correctDrift(), 500);
      this.open();
    }

    open() {
      if (!('MediaSource' in window)) return this.fail('no Media Source Extensions');
      const ws = new WebSocket(this.url);
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      ws.onmessage = (event) => {
        if (typeof event.data === 'string') return this.onText(event.data);
        this.onBinary(event.data);
      };
      ws.onclose = () => {
        if (!this.closed) this.fail('the live socket closed');
      };
    }

    onText(text) {
      let msg;
      try {
        msg = JSON.parse(text);
      } catch (e) {
        return;
      }
      if (msg.type === 'state') this.handlers.onState(msg.state);
      if (msg.type === 'init') this.startSource(msg.codec);
    }

    startSource(codec) {
      const type = 'video/mp4; codecs="' + codec + '"';
      if (!MediaSource.isTypeSupported(type)) return this.fail('codec ' + codec + ' not supported');
      this.queue = [];
      const source = new MediaSource();
      this.source = source;
      this.buffer = undefined;
      if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
      this.objectUrl = URL.createObjectURL(source);
      this.video.src = this.objectUrl;
      source.addEventListener('sourceopen', () => {
        if (this.source !== source) return;
        this.buffer = source.addSourceBuffer(type);
        this.buffer.mode = 'segments';
        this.buffer.addEventListener('updateend', () => this.pump());
        this.pump();
      });
    }

    onBinary(data) {
      if (!this.source) return;
      if (this.queue.length > 60) this.queue.splice(1, this.queue.length - 1);
      this.queue.push(data);
      this.pump();
    }

    pump() {
      const buffer = this.buffer;
      if (!buffer || buffer.updating || this.queue.length === 0) return;
      try {
        buffer.appendBuffer(this.queue.shift());
      } catch (e) {
        if (e && e.name === 'QuotaExceededError') this.trim(true);
        else this.fail('append failed');
        return;
      }
      if (!this.gotFragment && buffer.buffered.length > 0) {
        this.gotFragment = true;
        clearTimeout(this.fallbackTimer);
        const play = this.video.play();
        if (play && play.catch) play.catch(() => undefined);
      }
    }

    trim(force) {
      const buffer = this.buffer;
      const video = this.video;
      if (!buffer || buffer.updating || buffer.buffered.length === 0) return;
      const start = buffer.buffered.start(0);
      if (force || video.currentTime - start > 30) {
        const to = Math.max(start, video.currentTime - 10);
        if (to > start) buffer.remove(start, to);
      }
    }

    /** Keeps playback near the live edge: seeks when far behind or outside the buffer, speeds up when a bit behind. */
    correctDrift() {
      const video = this.video;
      const buffer = this.buffer;
      if (!buffer || buffer.buffered.length === 0) return;
      const ranges = buffer.buffered;
      const end = ranges.end(ranges.length - 1);
      const t = video.currentTime;
      let inside = false;
      for (let i = 0; i < ranges.length; i++) if (t >= ranges.start(i) && t <= ranges.end(i)) inside = true;
      const lag = end - t;
      if (!inside || lag > 1.5) {
        video.currentTime = Math.max(ranges.start(ranges.length - 1), end - 0.15);
        video.playbackRate = 1;
      } else if (lag > 0.5) {
        video.playbackRate = 1.15;
      } else {
        video.playbackRate = 1;
      }
      if (video.paused && this.gotFragment) {
        const play = video.play();
        if (play && play.catch) play.catch(() => undefined);
      }
      this.trim(false);
    }

    fail(reason) {
      if (this.closed) return;
      this.close();
      this.handlers.onFallback(reason);
    }

    close() {
      this.closed = true;
      clearTimeout(this.fallbackTimer);
      clearInterval(this.driftTimer);
      if (this.ws) {
        this.ws.onclose = null;
        this.ws.close();
      }
      if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
      this.source = undefined;
      this.buffer = undefined;
    }
  }

  class LivePanel extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) {
        if (!this.running) this.start();
        return;
      }
      const root = this.attachShadow({ mode: 'open' });
      root.appendChild(el('style', {}, STYLE));
      const panel = el('div', { class: 'panel' });
      const bar = el('div', { class: 'bar' });
      this.titleEl = el(
        'span',
        { class: 'title' },
        this.getAttribute('name') || this.getAttribute('camera') || '',
      );
      this.badge = el(
        'span',
        { class: 'badge', 'data-state': 'connecting', role: 'status' },
        LABELS.connecting,
      );
      this.modeEl = el('span', { class: 'badge' }, '');
      const snap = el('button', { type: 'button' }, 'Snapshot');
      snap.addEventListener('click', () => this.snapshot());
      this.recordBtn = el('button', { type: 'button', hidden: '' }, 'Save as recording');
      this.recordBtn.addEventListener('click', () => void this.record());
      bar.append(this.titleEl, this.badge, this.modeEl, snap, this.recordBtn);
      this.stage = el('div');
      this.msg = el('div', { class: 'msg', 'aria-live': 'polite' });
      panel.append(bar, this.stage, this.msg);
      root.appendChild(panel);
      if (this.hasAttribute('can-record')) this.recordBtn.removeAttribute('hidden');
      this.start();
    }

    disconnectedCallback() {
      Promise.resolve().then(() => {
        if (!this.isConnected) this.stop();
      });
    }

    get base() {
      return apiBase(this) + '/live/' + encodeURIComponent(this.getAttribute('camera') || '');
    }

    start() {
      this.stop();
      this.running = true;
      const mode = this.getAttribute('mode') || 'auto';
      if (mode !== 'mjpeg' && 'MediaSource' in window) this.startFmp4();
      else this.startMjpeg('');
      this.stateTimer = setInterval(() => void this.pollState(), STATE_POLL_MS);
      void this.pollState();
    }

    stop() {
      this.running = false;
      if (this.player) this.player.close();
      this.player = undefined;
      clearInterval(this.stateTimer);
      if (this.stage) this.stage.textContent = '';
    }

    startFmp4() {
      const video = el('video', { muted: '', playsinline: '', autoplay: '' });
      video.muted = true;
      this.stage.textContent = '';
      this.stage.appendChild(video);
      this.video = video;
      this.modeEl.textContent = 'H.264';
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      this.player = new Fmp4Player(video, proto + '//' + location.host + this.base + '/fmp4', {
        onState: (state) => this.showState(state),
        onFallback: (reason) => this.startMjpeg(reason),
      });
    }

    startMjpeg(reason) {
      this.player = undefined;
      this.video = undefined;
      const img = el('img', { class: 'live', alt: 'live view' });
      img.src = this.base + '/mjpeg';
      this.stage.textContent = '';
      this.stage.appendChild(img);
      this.modeEl.textContent = 'MJPEG';
      this.msg.textContent = reason ? 'MJPEG (' + reason + ')' : '';
      this.dataset.mode = 'mjpeg';
    }

    async pollState() {
      try {
        const state = await getJson(this.base + '/state');
        const current = this.dataset.mode === 'mjpeg' || !this.player ? state.mjpeg : state.fmp4;
        this.showState(current);
      } catch (e) {
        this.showState('offline');
      }
    }

    showState(state) {
      this.badge.dataset.state = state;
      this.badge.textContent = LABELS[state] || state;
      this.dataset.state = state;
    }

    snapshot() {
      const a = el('a', { href: this.base + '/snapshot', target: '_blank', rel: 'noopener', download: '' });
      a.click();
    }

    async record() {
      this.recordBtn.disabled = true;
      try {
        const session = await getJson(apiBase(this) + '/session');
        const res = await fetch(this.base + '/snapshot/record', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrfToken || '' },
          body: '{}',
        });
        const body = await res.json().catch(() => ({}));
        this.msg.textContent = res.ok
          ? 'Recording triggered: ' + String(body.eventName || '')
          : 'Refused: ' + String(body.error || res.status);
      } catch (e) {
        this.msg.textContent = 'Could not trigger the recording';
      } finally {
        this.recordBtn.disabled = false;
      }
    }
  }

  class LiveGrid extends HTMLElement {
    connectedCallback() {
      if (this.refreshTimer) return;
      if (!this.shadowRoot) {
        const root = this.attachShadow({ mode: 'open' });
        root.appendChild(el('style', {}, STYLE));
        this.panelHost = el('div');
        this.closeBtn = el('button', { type: 'button', class: 'close', hidden: '' }, 'Stop live');
        this.closeBtn.addEventListener('click', () => this.closePanel());
        this.gridEl = el('div', { class: this.single ? 'grid single' : 'grid' });
        this.msg = el('div', { class: 'msg' });
        root.append(this.panelHost, this.closeBtn, this.gridEl, this.msg);
      }
      void this.load();
      this.refreshTimer = setInterval(() => this.refreshStills(), STILL_REFRESH_MS);
    }

    disconnectedCallback() {
      Promise.resolve().then(() => {
        if (this.isConnected) return;
        clearInterval(this.refreshTimer);
        this.refreshTimer = undefined;
      });
    }

    /** The one camera this grid shows (a camera card), or null for all. */
    get single() {
      return this.getAttribute('camera');
    }

    async load() {
      let list;
      try {
        list = await getJson(apiBase(this) + '/live/cameras');
      } catch (e) {
        this.msg.textContent = 'The cameras could not be loaded';
        return;
      }
      this.canRecord = list.canRecord === true;
      this.gridEl.textContent = '';
      this.tiles = [];
      const cameras = this.single ? list.cameras.filter((c) => c.serial === this.single) : list.cameras;
      for (const camera of cameras) {
        const tile = el('button', {
          class: 'tile',
          type: 'button',
          'data-camera': camera.serial,
          title: 'Click to watch live',
        });
        const img = el('img', { alt: '' });
        const name = el('span', { class: 'name' });
        const badge = el(
          'span',
          { class: 'badge', 'data-state': camera.mjpeg },
          LABELS[camera.mjpeg] || camera.mjpeg,
        );
        name.append(document.createTextNode(camera.name + ' '), badge);
        tile.append(img, name);
        tile.addEventListener('click', () => this.open(camera));
        this.gridEl.appendChild(tile);
        this.tiles.push({ camera, img });
      }
      if (cameras.length === 0) this.msg.textContent = 'No camera to show';
      this.refreshStills();
    }

    refreshStills() {
      const watching = this.current && this.current.getAttribute('camera');
      for (const { camera, img } of this.tiles || []) {
        if (camera.serial === watching) continue;
        img.src = apiBase(this) + '/live/' + encodeURIComponent(camera.serial) + '/snapshot?t=' + Date.now();
      }
    }

    open(camera) {
      if (this.current) this.current.remove();
      const panel = document.createElement('pfcam-live-panel');
      panel.setAttribute('api', apiBase(this));
      panel.setAttribute('camera', camera.serial);
      panel.setAttribute('name', camera.name);
      if (this.getAttribute('mode')) panel.setAttribute('mode', this.getAttribute('mode'));
      if (this.canRecord) panel.setAttribute('can-record', '');
      this.panelHost.textContent = '';
      this.panelHost.appendChild(panel);
      this.current = panel;
      this.dataset.live = camera.serial;
      this.closeBtn.removeAttribute('hidden');
      if (this.single) this.gridEl.setAttribute('hidden', '');
    }

    closePanel() {
      if (this.current) this.current.remove();
      this.current = undefined;
      delete this.dataset.live;
      this.closeBtn.setAttribute('hidden', '');
      this.gridEl.removeAttribute('hidden');
      this.refreshStills();
    }
  }

  if (!customElements.get('pfcam-live-panel')) customElements.define('pfcam-live-panel', LivePanel);
  if (!customElements.get('pfcam-live-grid')) customElements.define('pfcam-live-grid', LiveGrid);
})();
