/**
 * Refreshes a page that asks for it with <meta name="auto-refresh" content="<seconds>"> (the jobs pages while a run
 * is going), but not while the reader is busy with it: while the tab is hidden, while a link or a control of the page
 * has the focus, or while text is selected; then it tries again one period later. The page's own "Stop refreshing"
 * link turns it off. Without JavaScript the layout's <noscript> meta refresh reloads the page instead.
 */
const seconds = Number.parseInt(document.querySelector('meta[name="auto-refresh"]')?.getAttribute('content') ?? '', 10);

function readerIsBusy() {
  if (document.visibilityState !== 'visible') return true;
  const focused = document.activeElement;
  if (focused !== null && focused !== document.body && focused !== document.getElementById('main')) return true;
  const selection = window.getSelection();
  return selection !== null && selection.toString() !== '';
}

function scheduleRefresh() {
  window.setTimeout(() => {
    if (readerIsBusy()) scheduleRefresh();
    else window.location.replace(window.location.href.split('#')[0] ?? '');
  }, seconds * 1000);
}

if (Number.isFinite(seconds) && seconds > 0) scheduleRefresh();
