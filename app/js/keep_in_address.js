// arguments: x_range, y_range, view_keys, choice_keys, choices
// The view and the choices, kept in the page's address, so that copying it shares what is on screen.
//
// A CustomJS callback on the plot's RangesUpdate and on each choice's Select. `view_keys` name the
// plot's `x_range` and `y_range` ends (x0, x1, y0, y1), `choice_keys` the value of each Select in
// `choices` (agg, column, ...), as app/address.py declares them and reads them back. It replaces
// the address (no new history entry); a choice without a value is left out.
const params = new URLSearchParams(window.location.search)
const ends = [x_range.start, x_range.end, y_range.start, y_range.end]
view_keys.forEach((key, i) => params.set(key, String(ends[i])))
choice_keys.forEach((key, i) => {
  const value = choices[i].value
  if (value != null)
    params.set(key, value)
  else
    params.delete(key)
})
window.history.replaceState(null, "", "?" + params.toString())
