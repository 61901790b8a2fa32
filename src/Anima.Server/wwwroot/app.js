// Anima's page: sign in, first meeting, streaming conversation, mood timeline and settings.
(function () {
  'use strict';
  const $ = id => document.getElementById(id);

  const strings = {
    en: {
      welcome: 'Welcome to Anima', welcomeText: 'A companion that lives on your own computer.',
      signIn: 'Sign in', signUp: 'Create account', username: 'Username', password: 'Password', signOut: 'Sign out',
      settings: 'Settings', mood: 'Mood', close: 'Close', send: 'Send', stop: 'Stop', placeholder: 'Say something…',
      older: 'Show earlier messages', thinking: 'thinking…', interrupted: 'interrupted', failed: 'the reply failed',
      noMind: 'No mind is connected.', noMindSteps: 'Your messages are saved, but your companion cannot answer until a language model is connected:',
      firstBootTitle: 'Meet your companion', firstBootText: 'It will introduce itself, get to know you a little, and then choose its own name.',
      moodTitle: 'Your mood over time', moodText: 'How your messages felt, as your companion perceives them (valence: unpleasant → pleasant; arousal: calm → excited).',
      moodEmpty: 'No perceived messages yet. Talk a little, and your mood will appear here.',
      perception: 'Perceive the feeling in my messages', mindTitle: 'Mind', provider: 'Provider', endpoint: 'Endpoint (base URL)', model: 'Model', apiKey: 'API key', connect: 'Connect',
      connected: 'connected', notConnected: 'no mind', named: name => `Your companion chose the name ${name}.`,
      you: 'You', networkError: 'Could not reach Anima. Is it still running?', tooLong: n => `The message is too long (${n} characters; the limit is 16,000).`,
      valence: 'valence', arousal: 'arousal', adminOnly: 'Only the administrator (the first account) can change the mind.',
      memories: 'Memories', memoriesTitle: 'What Anima knows about me', memoriesText: "Everything your companion has learned about you. Correct anything that is wrong; delete anything you'd rather it forgot — deleted means gone.",
      searchMemories: 'Search memories…', search: 'Search', memoriesEmpty: 'Nothing here yet.', export: 'Export all (JSON)', deleteAll: 'Delete all memories',
      voice: 'Voice', holdToTalk: 'Hold to talk', voice_off: '', voice_ready: 'Voice on — hold to talk', voice_listening: 'Listening…', voice_hearing: 'Hearing you…', voice_thinking: 'Thinking…', voice_speaking: 'Speaking — talk to interrupt',
      edit: 'Correct', remove: 'Delete', save: 'Save', confirmDeleteAll: 'Delete everything Anima remembers about you? This cannot be undone.',
      errors: {
        'mind-unavailable': "No mind is connected, so I can't answer yet. Your message is saved.",
        'mind-failed': 'The mind failed while answering. Your message is saved; try again.',
        'mind-timeout': 'The mind took too long to answer. Your message is saved; try again.',
        busy: 'A reply is still being written. Wait for it, or press Stop.',
      },
    },
    ko: {
      welcome: 'Anima에 오신 것을 환영해요', welcomeText: '당신의 컴퓨터에서 함께 지내는 동반자예요.',
      signIn: '로그인', signUp: '계정 만들기', username: '사용자 이름', password: '비밀번호', signOut: '로그아웃',
      settings: '설정', mood: '기분', close: '닫기', send: '보내기', stop: '멈추기', placeholder: '무엇이든 이야기해 보세요…',
      older: '이전 메시지 보기', thinking: '생각하는 중…', interrupted: '중단됨', failed: '답장을 만들지 못했어요',
      noMind: '연결된 언어 모델이 없어요.', noMindSteps: '메시지는 저장되지만, 언어 모델을 연결해야 동반자가 답할 수 있어요:',
      firstBootTitle: '동반자를 만나 보세요', firstBootText: '먼저 인사하고, 당신을 조금 알아간 뒤, 스스로 이름을 지을 거예요.',
      moodTitle: '시간에 따른 기분', moodText: '동반자가 느낀 당신 메시지의 감정이에요 (긍정도: 불쾌 → 유쾌, 각성도: 차분 → 흥분).',
      moodEmpty: '아직 감정을 읽은 메시지가 없어요. 조금 이야기를 나누면 여기에 나타나요.',
      perception: '내 메시지의 감정을 읽기', mindTitle: '언어 모델', provider: '제공자', endpoint: '엔드포인트 (기본 URL)', model: '모델', apiKey: 'API 키', connect: '연결',
      connected: '연결됨', notConnected: '모델 없음', named: name => `동반자가 스스로 ${name}(이)라는 이름을 지었어요.`,
      you: '나', networkError: 'Anima에 연결할 수 없어요. 실행 중인지 확인해 주세요.', tooLong: n => `메시지가 너무 길어요 (${n}자, 최대 16,000자).`,
      valence: '긍정도', arousal: '각성도', adminOnly: '관리자(첫 번째 계정)만 언어 모델을 바꿀 수 있어요.',
      memories: '기억', memoriesTitle: 'Anima가 나에 대해 아는 것', memoriesText: '동반자가 당신에 대해 알게 된 모든 것이에요. 틀린 것은 고치고, 잊었으면 하는 것은 지우세요. 지우면 정말 사라져요.',
      searchMemories: '기억 검색…', search: '검색', memoriesEmpty: '아직 아무것도 없어요.', export: '모두 내보내기 (JSON)', deleteAll: '모든 기억 지우기',
      voice: '음성', holdToTalk: '누르고 말하기', voice_off: '', voice_ready: '음성 켜짐 — 누르고 말하세요', voice_listening: '듣고 있어요…', voice_hearing: '말씀을 듣는 중…', voice_thinking: '생각하는 중…', voice_speaking: '말하는 중 — 말하면 멈춰요',
      edit: '고치기', remove: '지우기', save: '저장', confirmDeleteAll: 'Anima가 기억하는 모든 것을 지울까요? 되돌릴 수 없어요.',
      errors: {
        'mind-unavailable': '연결된 언어 모델이 없어서 아직 답할 수 없어요. 메시지는 저장됐어요.',
        'mind-failed': '언어 모델이 답하는 중에 실패했어요. 메시지는 저장됐어요. 다시 시도해 주세요.',
        'mind-timeout': '언어 모델의 답이 너무 늦어요. 메시지는 저장됐어요. 다시 시도해 주세요.',
        busy: '아직 답장을 쓰는 중이에요. 기다리거나 멈추기를 눌러 주세요.',
        'empty-message': '메시지가 비어 있어요.',
        'message-too-long': '메시지가 너무 길어요 (최대 16,000자).',
        'bad-credentials': '사용자 이름이나 비밀번호가 맞지 않아요.',
        'username-taken': '이미 쓰이는 사용자 이름이에요. 다른 이름을 고르거나 로그인하세요.',
        'weak-password': '비밀번호는 8자 이상으로 정해 주세요.',
        'invalid-username': '사용자 이름은 2~64자의 글자, 숫자, . _ - @ 로 만들어 주세요.',
        'too-many-attempts': '로그인 실패가 너무 많아요. 잠시 후 다시 시도해 주세요.',
      },
    },
  };

  let lang = localStorage.getItem('anima.lang') || ((navigator.language || 'en').toLowerCase().startsWith('ko') ? 'ko' : 'en');
  const t = key => strings[lang][key] ?? strings.en[key] ?? key;
  let state = { companion: null, oldestId: null, streaming: null, signUp: false, me: null };

  function applyLanguage() {
    document.documentElement.lang = lang;
    $('language-select').value = lang;
    document.querySelectorAll('[data-i18n]').forEach(el => {
      const value = t(el.dataset.i18n);
      if (typeof value === 'string') el.textContent = value;
    });
    document.querySelectorAll('[data-i18n-placeholder]').forEach(el => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    $('auth-submit').textContent = state.signUp ? t('signUp') : t('signIn');
    if (state.companion) renderMind(state.companion.mind);
  }

  async function api(path, options = {}) {
    const response = await fetch(path, {
      credentials: 'same-origin',
      ...options,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...(options.headers || {}) },
    });
    if (response.status === 401 && !path.startsWith('/api/auth/sign')) { showAuth(); throw new Error('unauthenticated'); }
    return response;
  }

  async function problemText(response) {
    try { return errorText(await response.json()); } catch { return response.statusText; }
  }

  function show(id, visible) { $(id).hidden = !visible; }

  function showAuth() {
    show('auth-view', true); show('chat-view', false); show('mood-view', false); show('settings-view', false);
    ['signout-button', 'settings-button', 'mood-button', 'memories-button', 'mind-badge', 'memories-view'].forEach(id => show(id, false));
    $('companion-name').textContent = 'Anima';
  }

  async function showChat() {
    show('auth-view', false); show('chat-view', true);
    ['signout-button', 'settings-button', 'mood-button', 'memories-button'].forEach(id => show(id, true));
    $('messages').innerHTML = '';
    state.oldestId = null;
    await refreshCompanion();
    await loadHistory();
    $('message-input').focus();
  }

  async function refreshCompanion() {
    const response = await api('/api/companion/');
    state.companion = await response.json();
    const profile = state.companion.profile;
    $('companion-name').textContent = profile.name || 'Anima';
    $('perception-toggle').checked = state.companion.settings.perceptionEnabled;
    renderMind(state.companion.mind);
    show('first-boot', state.companion.turnCount === 0 && !profile.name && state.companion.mind.connected);
  }

  function renderMind(mind) {
    const badge = $('mind-badge');
    badge.hidden = false;
    badge.textContent = mind.connected ? `${t('connected')}: ${mind.model || mind.provider}` : t('notConnected');
    badge.className = 'badge ' + (mind.connected ? 'ok' : 'warn');
    badge.title = mind.detail;
    show('mind-banner', !mind.connected);
    $('mind-detail').textContent = mind.detail;
    $('mind-steps').innerHTML = '';
    ((lang === 'ko' ? mind.howToConnectKo : mind.howToConnect) || []).forEach(step => {
      const li = document.createElement('li');
      li.innerHTML = AnimaMarkdown.render(step).replace(/^<p>|<\/p>$/g, '');
      $('mind-steps').appendChild(li);
    });
    $('mind-status-text').textContent = mind.detail;
  }

  async function loadHistory() {
    const query = state.oldestId ? `?limit=50&before=${state.oldestId}` : '?limit=50';
    const response = await api('/api/companion/history' + query);
    if (!response.ok) return;
    const page = await response.json();
    const list = $('messages');
    const atTop = state.oldestId !== null;
    const fragment = document.createDocumentFragment();
    page.turns.forEach(turn => fragment.appendChild(messageElement(turn.role, turn.text, turn.status, turn.emotion)));
    if (atTop) list.insertBefore(fragment, list.firstChild); else list.appendChild(fragment);
    if (page.turns.length) state.oldestId = page.turns[0].id;
    show('older-button', page.hasMore);
    if (!atTop) scrollToEnd();
  }

  function messageElement(role, text, status, emotion) {
    const li = document.createElement('li');
    li.className = 'message ' + (role === 'user' ? 'user' : 'companion');
    const bubble = document.createElement('div');
    bubble.className = 'bubble';
    if (role === 'user') bubble.textContent = text; else bubble.innerHTML = AnimaMarkdown.render(text);
    li.appendChild(bubble);
    const meta = document.createElement('div');
    meta.className = 'meta';
    if (status === 'interrupted') meta.textContent = t('interrupted');
    if (status === 'failed') meta.textContent = t('failed');
    if (emotion && emotion.labels && emotion.labels.length) meta.textContent = emotion.labels.slice(0, 3).join(' · ');
    li.appendChild(meta);
    return li;
  }

  function scrollToEnd() { window.scrollTo(0, document.body.scrollHeight); }

  function setStreaming(active) {
    show('send-button', !active);
    show('stop-button', active);
  }

  function parseEvents(buffer, onEvent) {
    let index;
    while ((index = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, index);
      buffer = buffer.slice(index + 2);
      let name = 'message', data = '';
      block.split('\n').forEach(line => {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      });
      onEvent(name, data ? JSON.parse(data) : null);
    }
    return buffer;
  }

  // A message keeps its id until it is answered, so sending it again after a dropped connection (or a
  // server that went away) never stores it twice: the server answers a known id with the stored reply.
  function messageIdFor(text) {
    if (!state.pendingMessage || state.pendingMessage.text !== text) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      state.pendingMessage = { text, id: Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('') };
    }
    return state.pendingMessage.id;
  }

  async function stream(path, body, userText) {
    showError('composer-error', null);
    const controller = new AbortController();
    state.streaming = controller;
    setStreaming(true);
    let userItem = null;
    if (userText !== null) {
      userItem = messageElement('user', userText, 'complete');
      userItem.classList.add('pending');
      $('messages').appendChild(userItem);
    }
    const reply = messageElement('companion', '', 'streaming');
    reply.classList.add('thinking');
    reply.querySelector('.meta').textContent = t('thinking');
    $('messages').appendChild(reply);
    scrollToEnd();
    let text = '';
    try {
      const response = await api(path, { method: 'POST', body: JSON.stringify(body), signal: controller.signal });
      const type = response.headers.get('content-type') || '';
      if (!response.ok || !type.startsWith('text/event-stream')) {
        reply.remove();
        if (userItem) userItem.remove();
        showError('composer-error', await problemText(response));
        if (userText !== null) $('message-input').value = userText;
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + decoder.decode(value, { stream: true }), (name, data) => {
          if (name === 'accepted' && userItem) userItem.classList.remove('pending');
          else if (name === 'perceived' && userItem && data.labels.length) userItem.querySelector('.meta').textContent = data.labels.slice(0, 3).join(' · ');
          else if (name === 'named') { $('companion-name').textContent = data.name; systemNote(t('named')(data.name)); }
          else if (name === 'token') {
            text += data.text;
            reply.classList.remove('thinking');
            reply.querySelector('.meta').textContent = '';
            reply.querySelector('.bubble').innerHTML = AnimaMarkdown.render(text);
            scrollToEnd();
          } else if (name === 'error') {
            if (!text) reply.remove();
            showError('composer-error', errorText(data));
            if (data.howToConnect) refreshCompanion();
          } else if (name === 'done') {
            if (data.status === 'complete') state.pendingMessage = null;
            reply.classList.remove('thinking');
            const meta = reply.querySelector('.meta');
            meta.textContent = data.status === 'interrupted' ? t('interrupted') : data.status === 'failed' ? t('failed') : '';
            if (!text && data.status !== 'complete') reply.remove();
          }
        });
      }
    } catch (error) {
      if (error.name === 'AbortError') {
        reply.classList.remove('thinking');
        reply.querySelector('.meta').textContent = t('interrupted');
        if (!text) reply.remove();
      } else if (error.message !== 'unauthenticated') {
        reply.remove();
        showError('composer-error', t('networkError'));
      }
    } finally {
      state.streaming = null;
      setStreaming(false);
      show('first-boot', false);
    }
  }

  // Errors the companion reports are shown in the page's language; the server's detail is the fallback.
  function errorText(problem) {
    const code = (problem.type || '').split('/').pop();
    return strings[lang].errors?.[code] || problem.detail || problem.title;
  }

  function systemNote(text) {
    const li = document.createElement('li');
    li.className = 'message note';
    li.textContent = text;
    $('messages').appendChild(li);
  }

  function showError(id, message) {
    $(id).hidden = !message;
    $(id).textContent = message || '';
  }

  // ---- mood plot (SVG) ----
  async function showMood() {
    show('mood-view', true);
    const response = await api('/api/companion/mood?days=90');
    const points = response.ok ? await response.json() : [];
    const host = $('mood-plot');
    if (!points.length) { host.innerHTML = '<p class="muted">' + AnimaMarkdown.escapeHtml(t('moodEmpty')) + '</p>'; return; }
    const width = 640, height = 220, pad = 32;
    const times = points.map(p => new Date(p.at).getTime());
    const t0 = Math.min(...times), t1 = Math.max(...times) || t0 + 1;
    const x = time => pad + (t1 === t0 ? (width - 2 * pad) / 2 : (time - t0) / (t1 - t0) * (width - 2 * pad));
    const yValence = v => pad + (1 - (v + 1) / 2) * (height - 2 * pad);
    const yArousal = a => pad + (1 - a) * (height - 2 * pad);
    const smooth = (values, alpha) => { let s = values[0]; return values.map(v => (s = alpha * v + (1 - alpha) * s)); };
    const valence = smooth(points.map(p => p.valence), 0.35), arousal = smooth(points.map(p => p.arousal), 0.35);
    const path = (values, y) => values.map((v, i) => (i ? 'L' : 'M') + x(times[i]).toFixed(1) + ',' + y(v).toFixed(1)).join(' ');
    const dots = points.map((p, i) => `<circle cx="${x(times[i]).toFixed(1)}" cy="${yValence(p.valence).toFixed(1)}" r="2.5" class="v-dot"><title>${new Date(p.at).toLocaleString(lang)}: ${p.valence.toFixed(2)}</title></circle>`).join('');
    host.innerHTML = `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${t('moodTitle')}">
      <line x1="${pad}" x2="${width - pad}" y1="${yValence(0)}" y2="${yValence(0)}" class="axis"/>
      <path d="${path(arousal, yArousal)}" class="arousal"/>
      <path d="${path(valence, yValence)}" class="valence"/>${dots}
      <text x="${pad}" y="${height - 8}" class="label">${new Date(t0).toLocaleDateString(lang)}</text>
      <text x="${width - pad}" y="${height - 8}" text-anchor="end" class="label">${new Date(t1).toLocaleDateString(lang)}</text>
    </svg><p class="legend"><span class="swatch valence"></span>${t('valence')} <span class="swatch arousal"></span>${t('arousal')}</p>`;
  }

  // ---- memories ----
  async function showMemories() {
    show('memories-view', true);
    const query = $('memory-query').value.trim(), kind = $('memory-kind').value;
    const params = new URLSearchParams({ limit: '100' });
    if (query) params.set('q', query);
    if (kind) params.set('kind', kind);
    const response = await api('/api/memories/?' + params);
    const list = $('memory-list');
    list.innerHTML = '';
    if (!response.ok) { list.textContent = await problemText(response); return; }
    const page = await response.json();
    show('memory-empty', page.items.length === 0);
    page.items.forEach(memory => list.appendChild(memoryItem(memory)));
  }

  function memoryItem(memory) {
    const li = document.createElement('li');
    li.className = 'memory' + (memory.isRetired ? ' retired' : '');
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = [memory.kind, new Date(memory.eventDate || memory.createdAt).toLocaleDateString(lang)].join(' · ');
    const text = document.createElement('div');
    text.className = 'memory-text';
    text.textContent = memory.text;
    const actions = document.createElement('div');
    actions.className = 'memory-actions';
    const edit = document.createElement('button'); edit.className = 'ghost'; edit.textContent = t('edit');
    const remove = document.createElement('button'); remove.className = 'ghost'; remove.textContent = t('remove');
    edit.addEventListener('click', () => {
      const input = document.createElement('textarea'); input.value = memory.text; input.maxLength = 8000;
      const save = document.createElement('button'); save.className = 'primary'; save.textContent = t('save');
      text.replaceWith(input); edit.replaceWith(save);
      save.addEventListener('click', async () => {
        const response = await api('/api/memories/' + memory.id, { method: 'PUT', body: JSON.stringify({ text: input.value }) });
        if (response.ok) li.replaceWith(memoryItem(await response.json())); else alert(await problemText(response));
      });
    });
    remove.addEventListener('click', async () => {
      const response = await api('/api/memories/' + memory.id, { method: 'DELETE' });
      if (response.ok) li.remove();
    });
    actions.append(edit, remove);
    li.append(meta, text, actions);
    return li;
  }

  async function showSettings() {
    show('settings-view', true);
    const response = await api('/api/mind/');
    if (!response.ok) return;
    const mind = await response.json();
    $('mind-status-text').textContent = mind.detail;
    if (mind.settings) {
      $('mind-provider').value = mind.settings.provider;
      $('mind-endpoint').value = mind.settings.endpoint || '';
      $('mind-model').value = mind.settings.model || '';
      $('mind-key').placeholder = mind.settings.hasApiKey ? '••••••••' : '';
    }
  }

  // ---- wiring ----
  $('language-select').addEventListener('change', e => { lang = e.target.value; localStorage.setItem('anima.lang', lang); applyLanguage(); });
  $('tab-signin').addEventListener('click', () => { state.signUp = false; $('tab-signin').classList.add('active'); $('tab-signup').classList.remove('active'); applyLanguage(); });
  $('tab-signup').addEventListener('click', () => { state.signUp = true; $('tab-signup').classList.add('active'); $('tab-signin').classList.remove('active'); applyLanguage(); });
  $('auth-form').addEventListener('submit', async e => {
    e.preventDefault();
    showError('auth-error', null);
    try {
      const response = await api(state.signUp ? '/api/auth/signup' : '/api/auth/signin', {
        method: 'POST', body: JSON.stringify({ username: $('username').value.trim(), password: $('password').value }),
      });
      if (!response.ok) { showError('auth-error', await problemText(response)); return; }
      $('password').value = '';
      await showChat();
    } catch { showError('auth-error', t('networkError')); }
  });
  $('signout-button').addEventListener('click', async () => { await api('/api/auth/signout', { method: 'POST' }).catch(() => {}); showAuth(); });
  $('composer').addEventListener('submit', e => {
    e.preventDefault();
    const input = $('message-input');
    const text = input.value.trim();
    if (!text || state.streaming) return;
    if (text.length > 16000) { showError('composer-error', t('tooLong')(text.length)); return; }
    input.value = '';
    autosize();
    stream('/api/companion/messages', { text, messageId: messageIdFor(text) }, text);
  });
  $('message-input').addEventListener('keydown', e => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('composer').requestSubmit(); }
  });
  const autosize = () => { const el = $('message-input'); el.style.height = 'auto'; el.style.height = Math.min(el.scrollHeight, 200) + 'px'; };
  $('message-input').addEventListener('input', autosize);
  $('stop-button').addEventListener('click', () => { if (state.streaming) state.streaming.abort(); api('/api/companion/stop', { method: 'POST' }).catch(() => {}); });
  $('older-button').addEventListener('click', loadHistory);
  document.querySelectorAll('[data-begin]').forEach(button => button.addEventListener('click', () => {
    lang = button.dataset.begin; localStorage.setItem('anima.lang', lang); applyLanguage();
    show('first-boot', false);
    stream('/api/companion/begin', { language: button.dataset.begin }, null);
  }));
  $('mood-button').addEventListener('click', showMood);
  $('memories-button').addEventListener('click', showMemories);
  $('memory-search').addEventListener('submit', e => { e.preventDefault(); showMemories(); });
  $('memory-delete-all').addEventListener('click', async () => {
    if (!confirm(t('confirmDeleteAll'))) return;
    await api('/api/memories/', { method: 'DELETE' });
    showMemories();
  });
  $('settings-button').addEventListener('click', showSettings);
  document.querySelectorAll('[data-close]').forEach(button => button.addEventListener('click', () => show(button.dataset.close, false)));
  $('perception-toggle').addEventListener('change', async e => {
    await api('/api/companion/settings', { method: 'PUT', body: JSON.stringify({ ...state.companion.settings, perceptionEnabled: e.target.checked }) });
    await refreshCompanion();
  });
  $('mind-form').addEventListener('submit', async e => {
    e.preventDefault();
    showError('mind-error', null);
    const body = { provider: $('mind-provider').value, endpoint: $('mind-endpoint').value || null, model: $('mind-model').value || null, apiKey: $('mind-key').value || null };
    const response = await api('/api/mind/', { method: 'PUT', body: JSON.stringify(body) });
    if (!response.ok) { showError('mind-error', response.status === 403 ? t('adminOnly') : await problemText(response)); return; }
    const mind = await response.json();
    $('mind-status-text').textContent = mind.detail;
    await refreshCompanion();
  });

  // What the voice mode needs from the chat view.
  window.AnimaChat = {
    text: t,
    showError: message => showError('composer-error', message),
    addMessage: (role, text) => { show('first-boot', false); const item = messageElement(role, text, 'complete'); $('messages').appendChild(item); scrollToEnd(); return item; },
    appendText: (item, text) => {
      item.dataset.text = (item.dataset.text || '') + text;
      item.querySelector('.bubble').innerHTML = AnimaMarkdown.render(item.dataset.text);
      scrollToEnd();
    },
    markInterrupted: item => { item.querySelector('.meta').textContent = t('interrupted'); },
  };

  applyLanguage();
  api('/api/auth/me').then(r => (r.ok ? showChat() : showAuth())).catch(() => showAuth());
})();
