// Voice mode: hands-free or push-to-talk over /api/voice. The browser's echo cancellation keeps
// Anima's own voice out of the microphone; the server decides turns and barge-in.
(function () {
  'use strict';
  const $ = id => document.getElementById(id);
  let session = null;

  async function start(handsFree) {
    if (session) return;
    const lang = document.documentElement.lang === 'ko' ? 'ko' : 'en';
    const context = new AudioContext({ sampleRate: 16000 });
    await context.audioWorklet.addModule('pcm-worklet.js');
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    const capture = new AudioWorkletNode(context, 'pcm-capture');
    context.createMediaStreamSource(stream).connect(capture);
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/voice?language=${lang}`);
    socket.binaryType = 'arraybuffer';
    session = { context, stream, capture, socket, handsFree, talking: handsFree, playing: [], scheduled: [], playAt: 0, reply: null };
    capture.port.onmessage = event => {
      if (socket.readyState === WebSocket.OPEN && session && session.talking) socket.send(event.data);
    };
    socket.onmessage = event => (typeof event.data === 'string' ? onEvent(JSON.parse(event.data)) : play(event.data));
    socket.onclose = () => stop();
    setState(handsFree ? 'listening' : 'ready');
  }

  function onEvent(message) {
    const chat = window.AnimaChat;
    if (message.type === 'speech-started') setState('hearing');
    else if (message.type === 'transcript') { chat.addMessage('user', message.text); session.reply = chat.addMessage('companion', ''); session.scheduled = []; setState('thinking'); }
    else if (message.type === 'sentence' && session.reply) { chat.appendText(session.reply, message.text + ' '); setState('speaking'); }
    else if (message.type === 'stop-playback') {
      // Tell the server how much of the reply was really played, so it is stored as cut off where the user stopped hearing it.
      const played = playedSeconds();
      stopPlayback();
      if (session.socket.readyState === WebSocket.OPEN) session.socket.send(JSON.stringify({ type: 'played', ms: Math.round(played * 1000) }));
      if (session.reply) chat.markInterrupted(session.reply);
      setState('hearing');
    }
    else if (message.type === 'reply-finished') { session.reply = null; setState(session.handsFree ? 'listening' : 'ready'); }
    else if (message.type === 'error' || message.type === 'warning') chat.showError(message.message);
  }

  function play(buffer) {
    const samples = new Int16Array(buffer);
    const audio = session.context.createBuffer(1, samples.length, 16000);
    const data = audio.getChannelData(0);
    for (let i = 0; i < samples.length; i++) data[i] = samples[i] / 0x8000;
    const source = session.context.createBufferSource();
    source.buffer = audio;
    source.connect(session.context.destination);
    const at = Math.max(session.context.currentTime, session.playAt);
    source.start(at);
    session.playAt = at + audio.duration;
    session.playing.push(source);
    session.scheduled.push({ at, duration: audio.duration });
    source.onended = () => { session && (session.playing = session.playing.filter(s => s !== source)); };
  }

  // Seconds of the current reply's audio that have actually come out of the speaker (gaps between chunks excluded).
  function playedSeconds() {
    const now = session.context.currentTime;
    return session.scheduled.reduce((sum, item) => sum + Math.min(Math.max(now - item.at, 0), item.duration), 0);
  }

  function stopPlayback() {
    session.playing.forEach(source => { try { source.stop(); } catch { /* already ended */ } });
    session.playing = [];
    session.playAt = 0;
  }

  function stop() {
    if (!session) return;
    const current = session;
    session = null;
    current.stream.getTracks().forEach(track => track.stop());
    if (current.socket.readyState === WebSocket.OPEN) current.socket.close();
    current.context.close();
    setState('off');
  }

  function setState(state) {
    const label = $('voice-state');
    label.hidden = state === 'off';
    label.textContent = (window.AnimaChat.text('voice_' + state));
    $('voice-button').classList.toggle('active', state !== 'off');
    $('talk-button').hidden = !!(session && session.handsFree);
  }

  $('voice-button').addEventListener('click', () => (session ? stop() : start(true).catch(error => window.AnimaChat.showError(String(error)))));
  const talk = $('talk-button');
  const press = async () => {
    try {
      if (!session) await start(false);
      session.talking = true;
      setState('hearing');
    } catch (error) { window.AnimaChat.showError(String(error)); }
  };
  const release = () => {
    if (!session || session.handsFree) return;
    // A second of silence after release lets the server see the end of the turn at once.
    session.socket.send(new Int16Array(16000).buffer);
    session.talking = false;
  };
  talk.addEventListener('pointerdown', press);
  talk.addEventListener('pointerup', release);
  talk.addEventListener('pointerleave', release);
  window.AnimaVoice = { start, stop };
})();
