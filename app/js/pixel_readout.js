// arguments: source, label, names, x_range, y_range
// The pixel under the cursor, read out beside it: the grid's value there and the pixel's extent
// in data space, read from the exact grid in the page.
//
// A HoverTool callback. `cb_data.geometry` is the cursor in data space (x, y); it is not finite
// once the cursor has left the plot. BokehJS calls this at every move of the cursor and at every
// repaint of the plot, so the read-out follows a new image under a cursor that stays put. The
// label is drawn on the plot's canvas, above the image: a change of its text repaints only the
// overlay, and nothing of it is laid out or styled as a page element would be.
// `names`: the value's name (the reduction) and the x and y columns' names.
const OFFSET = 14  // px between the cursor and the read-out's corner
const {x, y} = cb_data.geometry
const data = source.data
const grid = data.image[0]
const hide = () => { if (label.visible) label.visible = false }
if (grid === undefined || !Number.isFinite(x) || !Number.isFinite(y))
  return hide()
const [rows, columns] = grid.shape
const [x0, y0, width, height] = [data.x[0], data.y[0], data.dw[0], data.dh[0]]
// the pixel's column i and row j (row 0 at the bottom, as Datashader's grid), as BokehJS finds
// the pixel of an image under the cursor
const i = Math.floor((x - x0) / width * columns)
const j = Math.floor((y - y0) / height * rows)
if (!(i >= 0 && i < columns && j >= 0 && j < rows))
  return hide()

const value = grid[j * columns + i]
const shown = Number.isNaN(value) ? "no rows"
  : Number.isInteger(value) ? String(value) : value.toPrecision(6)
const extent = (start, size, cells, cell) => {
  const step = size / cells
  // three significant digits of the pixel's size, so that neighbouring pixels read differently
  const digits = Math.min(20, Math.max(0, 2 - Math.floor(Math.log10(step))))
  return `${(start + cell * step).toFixed(digits)} to ${(start + (cell + 1) * step).toFixed(digits)}`
}
const text = [
  `${names[0]}: ${shown}`,
  `${names[1]}: ${extent(x0, width, columns, i)}`,
  `${names[2]}: ${extent(y0, height, rows, j)}`,
].join("\n")

// beside the cursor, on the side of it with more room in the view
const right = (x - x_range.start) / (x_range.end - x_range.start) > 0.6
const low = (y - y_range.start) / (y_range.end - y_range.start) < 0.4
label.setv({
  x, y, text, visible: true,
  anchor: `${low ? "bottom" : "top"}_${right ? "right" : "left"}`,
  x_offset: right ? -OFFSET : OFFSET,
  y_offset: low ? OFFSET : -OFFSET,
})
