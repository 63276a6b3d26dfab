"""The page's small script: the copy button and citation links (the chat's HTML carries no script)."""

from __future__ import annotations

PAGE_JS = """
() => {
  if (window.__aaWired) return;
  window.__aaWired = true;
  // On a phone the focused question box scrolled the page past its title: start at the top there.
  if (window.innerWidth < 700) {
    setTimeout(() => { if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0); }, 400);
  }
  const copy = async (text, button) => {
    let done = false;
    try { await navigator.clipboard.writeText(text); done = true; } catch (e) { done = false; }
    if (!done) {
      const area = document.createElement('textarea');
      area.value = text; area.style.position = 'fixed'; area.style.opacity = '0';
      document.body.appendChild(area); area.select();
      try { done = document.execCommand('copy'); } catch (e) { done = false; }
      area.remove();
    }
    window.__aaCopied = text;
    button.textContent = done ? 'Copied' : 'Copy failed';
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  };
  document.addEventListener('click', (event) => {
    const button = event.target.closest('.aa-copy');
    if (button) {
      event.preventDefault(); event.stopPropagation();
      const msg = button.closest('.aa-msg');
      const source = msg && msg.querySelector('.aa-copy-text');
      copy(source ? source.textContent : '', button);
      return;
    }
    const ref = event.target.closest('a.aa-ref');
    if (ref) {
      event.preventDefault(); event.stopPropagation();
      const id = (ref.getAttribute('href') || '').replace(/^#/, '');
      const target = id && document.getElementById(id);
      if (!target) return;
      const details = target.querySelector('details');
      if (details) details.open = true;
      target.scrollIntoView({block: 'nearest', behavior: 'smooth'});
      target.classList.add('aa-flash');
      setTimeout(() => target.classList.remove('aa-flash'), 1600);
    }
  }, true);
}
"""
