// Safe markdown for the companion's replies: everything is HTML-escaped first, then a small set of
// constructs is turned into markup. Links only for http(s); no raw HTML ever reaches the page.
(function (global) {
  'use strict';

  function escapeHtml(text) {
    return text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }

  function inline(text) {
    // text is already escaped
    const codes = [];
    text = text.replace(/`([^`\n]+)`/g, (_, code) => { codes.push(code); return '\u0000' + (codes.length - 1) + '\u0000'; });
    text = text.replace(/\*\*([^*\n]+)\*\*/g, '<strong>$1</strong>');
    text = text.replace(/(^|[^*])\*([^*\n]+)\*/g, '$1<em>$2</em>');
    text = text.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_, label, url) =>
      '<a href="' + url + '" target="_blank" rel="noopener noreferrer nofollow">' + label + '</a>');
    text = text.replace(/\u0000(\d+)\u0000/g, (_, i) => '<code>' + codes[Number(i)] + '</code>');
    return text;
  }

  function render(source) {
    const lines = escapeHtml(source || '').split('\n');
    const out = [];
    let inCode = false, code = [], list = null, paragraph = [];
    const flushParagraph = () => { if (paragraph.length) { out.push('<p>' + paragraph.map(inline).join('<br>') + '</p>'); paragraph = []; } };
    const flushList = () => { if (list) { out.push('<' + list.tag + '>' + list.items.map(i => '<li>' + inline(i) + '</li>').join('') + '</' + list.tag + '>'); list = null; } };
    for (const line of lines) {
      if (/^```/.test(line)) {
        if (inCode) { out.push('<pre><code>' + code.join('\n') + '</code></pre>'); code = []; inCode = false; }
        else { flushParagraph(); flushList(); inCode = true; }
        continue;
      }
      if (inCode) { code.push(line); continue; }
      const bullet = /^\s*[-*]\s+(.*)$/.exec(line);
      const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
      if (bullet || numbered) {
        flushParagraph();
        const tag = bullet ? 'ul' : 'ol';
        if (!list || list.tag !== tag) { flushList(); list = { tag, items: [] }; }
        list.items.push((bullet || numbered)[1]);
        continue;
      }
      flushList();
      if (line.trim() === '') { flushParagraph(); continue; }
      const heading = /^#{1,6}\s+(.*)$/.exec(line);
      if (heading) { flushParagraph(); out.push('<p><strong>' + inline(heading[1]) + '</strong></p>'); continue; }
      paragraph.push(line);
    }
    if (inCode) out.push('<pre><code>' + code.join('\n') + '</code></pre>');
    flushParagraph(); flushList();
    return out.join('');
  }

  global.AnimaMarkdown = { render, escapeHtml };
})(window);
