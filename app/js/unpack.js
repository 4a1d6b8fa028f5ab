// arguments: wire, target, column_sums, row_sums, column_peak, row_peak
// The page's copy of the image grid, unpacked from what the server sent.
//
// A CustomJS callback with `wire` (the synced source of packed grids, see pipeline/packing.py),
// `target` (the exact image source that the glyphs, the hover read-out and the histograms read; filled
// here, never sent back), and the histograms' `column_sums` and `row_sums` sources (whose bars
// place themselves from `target`) with the ranges `column_peak` and `row_peak` of their heights.
// It runs when a packed grid arrives and when the page opens.
//
// The inverse of pack_grid: byte planes back into pixels, then, for `delta` grids, zigzag
// differences back into values by a running sum along each row (modulo 2**bits, as on the
// server). Synchronous, so the grid is in place before any later message reads it.
const {ndarray} = Bokeh.require("core/util/ndarray")
const ARRAYS = {
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array,
  int8: Int8Array, int16: Int16Array, int32: Int32Array,
  float32: Float32Array, float64: Float64Array,
}

function unpack(bytes, dtype, rows, columns, delta) {
  const type = ARRAYS[dtype]
  const width = type.BYTES_PER_ELEMENT
  const pixels = rows * columns
  if (bytes.length != pixels * width)
    throw new Error(`a packed ${rows}x${columns} ${dtype} grid needs ${pixels * width} bytes; got ${bytes.length}`)
  let values
  if (width == 1)
    values = new type(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))
  else {
    const out = new Uint8Array(pixels * width)  // little-endian, as every browser's typed arrays
    for (let plane = 0; plane < width; plane++) {
      const from = plane * pixels
      for (let p = 0; p < pixels; p++)
        out[p * width + plane] = bytes[from + p]
    }
    values = new type(out.buffer)
  }
  if (delta) {
    const bits = width * 8
    const mask = bits == 32 ? 0xFFFFFFFF : (1 << bits) - 1
    for (let j = 0; j < rows; j++) {
      let sum = 0
      for (let i = j * columns; i < (j + 1) * columns; i++) {
        const z = values[i]
        sum = (sum + ((z >>> 1) ^ -(z & 1))) & mask
        values[i] = sum >>> 0
      }
    }
  }
  return ndarray(values, {dtype, shape: [rows, columns]})
}

// The rows in view per pixel column and per pixel row: a count grid's column and row sums
// (exact: a double holds every integer up to 2**53), each followed by the zero where the
// histogram's step area closes (see histograms.py).
function sums(grid) {
  const [rows, columns] = grid.shape
  const per_column = new Float64Array(columns + 1)
  const per_row = new Float64Array(rows + 1)
  for (let j = 0; j < rows; j++) {
    let sum = 0
    for (let i = 0, k = j * columns; i < columns; i++, k++) {
      const value = grid[k]
      sum += value
      per_column[i] += value
    }
    per_row[j] = sum
  }
  return [per_column, per_row]
}

// a histogram's edge numbers 0..n for its n + 1 heights: the ones it has, unless the grid changed size
function pixels(histogram, heights) {
  const pixel = histogram.data.pixel
  return pixel.length == heights ? pixel : Array.from({length: heights}, (_, i) => i)
}

function peak(values) {
  let highest = 1
  for (const value of values)
    highest = Math.max(highest, value)
  return highest
}

const data = wire.data
const image = data.packed.length == 0
  ? []
  : [unpack(data.packed[0], data.dtype[0], data.rows[0], data.columns[0], data.delta[0])]
target.data = {image, x: data.x, y: data.y, dw: data.dw, dh: data.dh}
if (image.length && data.counts[0]) {
  // placed from `target`, which now holds the grid they sum
  const [per_column, per_row] = sums(image[0])
  column_sums.data = {pixel: pixels(column_sums, per_column.length), rows: per_column}
  row_sums.data = {pixel: pixels(row_sums, per_row.length), rows: per_row}
  column_peak.end = peak(per_column)
  row_peak.end = peak(per_row)
} else if (cb_obj !== wire) {
  // Sums from the server came with the document, and their bars were placed before the grid
  // was unpacked; later sums arrive after their grid, which places the bars again anyway.
  column_sums.change.emit()
  row_sums.change.emit()
}
