// Tooltip lines for the image pixel under the cursor, read from the grid in the page.
//
// A CustomJSHover formatter with `source`, the image's data source. BokehJS's hit on an image
// is `special_vars.image_index`: which image, and the pixel's column i and row j (row 0 at the
// bottom, as Datashader's grid). `format` picks the line:
// - "value": the grid's value at that pixel (the tooltip field is `$index`, which is never
//   NaN, so that this formatter also runs for pixels without rows);
// - "x", "y": the pixel's extent in data space, from the image's x, y, dw, dh and the grid's
//   shape.
const {index, i, j, flat_index} = special_vars.image_index
const data = source.data
const grid = data.image[index]
if (format == "value") {
  const value = grid[flat_index]
  if (Number.isNaN(value))
    return "no rows"
  return Number.isInteger(value) ? String(value) : value.toPrecision(6)
}
const [rows, columns] = grid.shape
const [start, size, cells, cell] = format == "x"
  ? [data.x[index], data.dw[index], columns, i]
  : [data.y[index], data.dh[index], rows, j]
const step = size / cells
// three significant digits of the pixel's size, so that neighbouring pixels read differently
const digits = Math.min(20, Math.max(0, 2 - Math.floor(Math.log10(step))))
return `${(start + cell * step).toFixed(digits)} to ${(start + (cell + 1) * step).toFixed(digits)}`
