"""The page's stylesheet: the chat's HTML (``render.py``) in light and dark mode, text at WCAG AA contrast
(4.5:1; the browser test checks it with axe-core)."""

CSS = """
:root, .light { --aa-subdued: #475569; --aa-accent: #4338ca; --aa-accent-fill: #4338ca; }
.dark { --aa-subdued: #cbd5e1; --aa-accent: #a5b4fc; --aa-accent-fill: #4338ca; }
.dark button.selected, .dark .tab-nav button.selected { color: #a5b4fc !important; }
.gradio-container { max-width: 1280px !important; margin: 0 auto !important; }
.aa-header { display:flex; flex-wrap: wrap; justify-content:space-between; align-items:flex-end; gap:8px 16px;
  padding: 6px 4px 10px; border-bottom: 1px solid var(--border-color-primary); }
.aa-header h1 { font-size: 1.55rem; margin: 0 0 2px; font-weight: 700; letter-spacing: -0.01em; }
.aa-header p { margin: 0; color: var(--aa-subdued); font-size: .92rem; }
.aa-stats { font-size: .85rem; color: var(--aa-subdued); white-space: nowrap;
  background: var(--background-fill-secondary); padding: 4px 10px; border-radius: 999px; }
.aa-msg { line-height: 1.5; }
#aa-question button { background: var(--button-primary-background-fill); color: var(--button-primary-text-color);
  border-radius: var(--radius-md); padding: 4px 16px; font-weight: 600; }
#aa-question button:hover { background: var(--button-primary-background-fill-hover); }
.aa-toolbar { align-items: center !important; }
.aa-toolbar-title { font-weight: 700; font-size: .95rem; margin: 0; color: var(--aa-subdued); }
.aa-text { font-size: 1.02rem; margin: 0 0 6px; }
.aa-span { background: #fde68a; color: #111827; padding: 0 2px; border-radius: 3px; font-weight: 600; }
.aa-ref-wrap { font-size: .7em; margin-left: 3px; }
a.aa-ref { color: var(--aa-accent); font-weight: 700; text-decoration: none; cursor: pointer; padding: 0 3px;
  border-radius: 4px; border: 1px solid var(--aa-accent); }
a.aa-ref:hover { background: var(--aa-accent-fill); color: white; }
.aa-flash details, .aa-flash { box-shadow: 0 0 0 3px #f59e0b; border-radius: 8px; transition: box-shadow .3s; }
.aa-copy { margin-left: 6px; font-size: .75rem; border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 0 8px; background: var(--background-fill-primary); cursor: pointer; color: var(--body-text-color); }
.aa-copy-text { display: none; white-space: pre-wrap; }
.aa-copy:hover { border-color: var(--aa-accent); color: var(--aa-accent); }
.aa-pending { display: flex; align-items: center; gap: 8px; color: var(--aa-subdued); font-style: italic; }
.aa-spinner { display: inline-block; color: var(--aa-accent); font-style: normal;
  animation: aa-spin .9s linear infinite; }
@keyframes aa-spin { to { transform: rotate(360deg); } }
.aa-searched-body { padding: 2px 4px 4px; }
.aa-searched > summary { cursor: pointer; }
.aa-group { margin-bottom: 14px; }
.aa-group-head { font-size: .86rem; margin: 4px 0 6px; font-weight: 600; }
.aa-card.aa-weak { border-style: dashed; }
.aa-weak-tag { font-size: .68rem; font-weight: 600; background: var(--background-fill-secondary);
  color: var(--aa-subdued); border-radius: 999px; padding: 0 6px; margin-left: 4px; }
.aa-pageinfo { font-size: .78rem; color: var(--aa-subdued); padding: 6px 2px; }
.aa-short { font-size: .92rem; margin-bottom: 6px; }
.aa-label { font-size: .72rem; text-transform: uppercase; letter-spacing: .06em; font-weight: 700;
  color: var(--aa-subdued); margin-right: 4px; }
.aa-searched { font-size: .78rem; color: var(--aa-subdued); margin: -4px 0 8px; }
.aa-meta { font-size: .8rem; color: var(--aa-subdued); margin: 2px 0 8px; }
.aa-badge { display:inline-block; border-radius: 999px; padding: 0 8px; font-weight: 600; margin-right: 6px; }
.aa-high { background: #dcfce7; color: #166534; } .aa-medium { background: #fef9c3; color: #854d0e; }
.aa-low { background: #e2e8f0; color: #1e293b; }
ol.aa-cites { list-style: none; padding: 0 !important; margin: 6px 0 0 !important; display: flex;
  flex-direction: column; gap: 5px; }
.aa-cite { margin: 0 !important; padding: 0 !important; }
.aa-cite details { border: 1px solid var(--border-color-primary); border-radius: 8px;
  background: var(--background-fill-secondary); }
.aa-cite summary { cursor: pointer; padding: 6px 10px; display: flex; gap: 8px; align-items: flex-start;
  list-style: none; }
.aa-cite summary::-webkit-details-marker { display: none; }
.aa-cite summary:hover { background: var(--background-fill-primary); border-radius: 8px; }
.aa-cite details[open] summary { border-bottom: 1px dashed var(--border-color-primary); border-radius: 8px 8px 0 0; }
.aa-cite-body { display: flex; flex-direction: column; gap: 1px; min-width: 0; }
.aa-cite .aa-q { font-size: .86rem; line-height: 1.4; }
.aa-src { font-size: .76rem; color: var(--aa-subdued); }
.aa-hint { font-style: italic; }
.aa-more { margin-top: 5px; }
.aa-more > summary { cursor: pointer; font-size: .8rem; color: var(--aa-subdued); padding: 2px 4px; }
.aa-more > summary:hover { color: var(--aa-accent); }
.aa-src-title { font-weight: 600; color: var(--body-text-color); }
.aa-num { display:inline-flex; align-items:center; justify-content:center; flex: none; min-width: 1.4em;
  height: 1.4em; border-radius: 999px; background: var(--aa-accent-fill); color: white; font-size: .72rem;
  font-weight: 700; margin-top: 1px; }
.aa-title { font-weight: 650; font-size: .95rem; }
.aa-byline { font-size: .78rem; color: var(--aa-subdued); }
.aa-q { font-style: italic; color: var(--body-text-color); quotes: "“" "”"; }
.aa-context { padding: 8px 12px; font-size: .88rem; line-height: 1.55; }
.aa-quote { background: #fef3c7; color: #111827; padding: 1px 0; border-bottom: 2px solid #f59e0b; }
.aa-focus { background: #fde68a; }
.aa-where { font-size: .72rem; color: var(--aa-subdued); padding: 0 12px 6px;
  font-family: var(--font-mono); }
.aa-abstain { border-left: 4px solid #9ca3af; padding-left: 10px; }
.aa-abstain-head { font-weight: 700; font-size: 1.02rem; color: var(--aa-subdued); display:flex; align-items:center; gap:6px; }
.aa-icon { display:inline-flex; width:1.4em; height:1.4em; border-radius:999px; background:#e5e7eb; color:#374151;
  align-items:center; justify-content:center; font-size:.85rem; }
.aa-abstain-text { margin: 2px 0 8px; color: var(--aa-subdued); font-size: .9rem; }
.aa-closest .aa-cite details { background: transparent; border-style: dashed; }
.aa-note, .aa-muted { font-size: .8rem; color: var(--aa-subdued); }
.aa-notice { color: var(--aa-subdued); font-style: italic; }
.aa-panel-head { font-weight: 700; margin: 2px 0 10px; }
.aa-empty { color: var(--aa-subdued); padding: 18px; border: 1px dashed var(--border-color-primary);
  border-radius: 10px; line-height: 1.55; }
.aa-card { border: 1px solid var(--border-color-primary); border-radius: 10px; margin-bottom: 10px;
  background: var(--background-fill-primary); overflow: hidden; }
.aa-card-head { display:flex; gap: 10px; align-items: flex-start; padding: 10px 12px 2px; }
.aa-card .aa-num { margin-top: 2px; }
.aa-article-list { list-style: none; padding: 0; margin: 0; max-height: 420px; overflow-y: auto; }
.aa-article-list li { padding: 7px 2px; border-bottom: 1px solid var(--border-color-primary); }
.aa-article-list code { font-size: .75rem; }
.aa-snippet { font-size: .82rem; margin-top: 3px; line-height: 1.45; }
.aa-hit { background: #fde68a; color: #111827; padding: 0 1px; border-radius: 2px; }
.aa-new { margin-left: 6px; font-size: .68rem; background: #dcfce7; color: #166534; border-radius: 999px;
  padding: 0 6px; font-weight: 700; vertical-align: middle; }
.aa-status { border-radius: 8px; padding: 8px 12px; font-size: .9rem; }
.aa-status ul { margin: 4px 0 0 18px; padding: 0; }
.aa-status-ok { background: #f0fdf4; border: 1px solid #bbf7d0; color: #14532d; }
.aa-status-warn { background: #fffbeb; border: 1px solid #fde68a; color: #78350f; }
.aa-status-error { background: #fef2f2; border: 1px solid #fecaca; color: #7f1d1d; }
#aa-chat .message-row .message { max-width: 92%; }
.dark .aa-span, .dark .aa-quote, .dark .aa-focus { color: #111827; }
.aa-legend { font-size: .82rem; color: var(--aa-subdued); margin-top: 4px; }
.aa-legend summary { cursor: pointer; }
.aa-legend ul { margin: 4px 0 4px 18px; padding: 0; } .aa-legend li { margin: 3px 0; }
.aa-legend p { margin: 4px 0; }
.aa-intent { font-size: .72rem; border: 1px solid var(--border-color-primary); border-radius: 999px; padding: 0 6px;
  margin-left: 4px; }
.aa-multi .aa-sentence { margin-right: 2px; }
.aa-confirm { font-size: .88rem; padding: 6px 2px; }
.aa-undo-row { align-items: center !important; }
.aa-undo-text { font-size: .88rem; }
#aa-chat .message, #aa-chat .message * { overflow-wrap: break-word !important; word-break: normal !important; }
#aa-chat .message-row .message { min-width: min-content; }
#aa-chat .message-row .message.bot, #aa-chat .bot-row .message { min-width: 0; }
@media (max-width: 700px) { .aa-header h1 { font-size: 1.3rem; } }
"""
