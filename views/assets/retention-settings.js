/**
 * Progressive enhancement of the Retention settings form (views/retention/settings.ejs): of the groups of fields
 * that belong to one kind of source or target (`data-kind-of="<select id>" data-kind="<value>"`), only the chosen
 * kind's group shows, and the choice is followed as it changes. Without this script every group shows, each saying
 * which kind it belongs to; the server reads only the chosen kind's fields either way. Hidden groups keep what was
 * typed in them, so switching back loses nothing.
 */
function followKindSwitch(select) {
  const groups = [...document.querySelectorAll('[data-kind-of]')].filter((group) => group.getAttribute('data-kind-of') === select.id);
  const show = () => {
    for (const group of groups) group.hidden = group.getAttribute('data-kind') !== select.value;
  };
  select.addEventListener('change', show);
  // Back/forward cache and form restoration: a restored page shows the groups of the restored choice.
  window.addEventListener('pageshow', show);
  show();
}

for (const select of document.querySelectorAll('select[data-kind-switch]')) {
  if (select.id !== '') followKindSwitch(select);
}
