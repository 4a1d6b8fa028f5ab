// arguments: mapper
// Equal-histogram colour mapping for count grids, in one pass over the pixels.
//
// Runs in the browser when an image arrives (a CustomJS callback with `mapper`, the plot's
// EqHistColorMapper); the first time, it replaces two methods of that one mapper. BokehJS's own code
// copies every pixel into a plain array, bins each by binary search over 65,536 edges and
// finds each colour by another binary search: about 180 ms for an 800x600 grid in a
// software-rendering browser. Counts are integers, so each level can be its own histogram
// bin and its own colour-table entry: the same equalisation in a few milliseconds.
// Non-integer data falls back to the stock methods.
if (mapper.fast_count_scan)
  return
mapper.fast_count_scan = true
const MAX_LEVELS = 1 << 22
const stock = Object.getPrototypeOf(mapper)

const INTEGER_ARRAYS = [Uint8Array, Uint16Array, Uint32Array, Int8Array, Int16Array, Int32Array]

function integer_range(data) {
  // an integer array (the server's count grids) needs no check per pixel
  const check = !INTEGER_ARRAYS.some((type) => data instanceof type)
  let lowest = Infinity
  let highest = -Infinity
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    if (check && !Number.isInteger(v))
      return null
    if (v < lowest) lowest = v
    if (v > highest) highest = v
  }
  return data.length == 0 ? null : [lowest, highest]
}

function levels_of(data) {
  const range = integer_range(data)
  if (range == null)
    return null
  const low = mapper.low != null ? mapper.low : range[0]
  const high = mapper.high != null ? Math.min(mapper.high, range[1]) : range[1]
  if (!(high >= low) || high - low >= MAX_LEVELS || !Number.isInteger(low))
    return null
  return {low, high}
}

// numpy.interp for increasing xs
function interp(points, xs, ys) {
  const out = new Array(points.length)
  let j = 0
  for (let i = 0; i < points.length; i++) {
    const p = points[i]
    if (p <= xs[0]) { out[i] = ys[0]; continue }
    if (p >= xs[xs.length - 1]) { out[i] = ys[ys.length - 1]; continue }
    while (xs[j + 1] < p) j++
    const t = (p - xs[j]) / (xs[j + 1] - xs[j])
    out[i] = ys[j] + t * (ys[j + 1] - ys[j])
  }
  return out
}

mapper.scan = function (data, n, known_levels) {
  const levels = known_levels !== undefined ? known_levels : levels_of(data)
  if (levels == null)
    return stock.scan.call(this, data, n)
  const {low, high} = levels
  const counts = new Float64Array(high - low + 1)
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    if (v >= low && v <= high)
      counts[v - low] += 1
  }
  // the stock equalisation, with one bin per level: cdf over the non-empty levels
  const cdf = [-1.0]
  const centers = [0]
  let total = 0
  for (let i = 0; i < counts.length; i++) {
    if (counts[i] != 0) {
      total += counts[i]
      cdf.push(total)
      centers.push(low + i)
    }
  }
  const nhist = centers.length - 1
  if (nhist == 0)
    return stock.scan.call(this, data, n)
  centers[0] = nhist > 1 ? 2 * centers[1] - centers[nhist] : centers[1] - 1
  const first = cdf[1]
  const span = total - first
  for (let i = 1; i <= nhist; i++)
    cdf[i] = span > 0 ? (cdf[i] - first) / span : 1
  const steps = Array.from({length: n + 1}, (_, k) => k / n)
  const binning = interp(steps, cdf, centers)
  binning[0] = low
  binning[n] = high
  return {min: low, max: high, binning, force_low_cutoff: false}
}

mapper._v_compute = function (data, values, palette, colors) {
  // one image per renderer here, so the data to scan is the image itself
  const levels = levels_of(data)
  if (levels == null)
    return stock._v_compute.call(this, data, values, palette, colors)
  const {nan_color} = colors
  const low_color = colors.low_color != null ? colors.low_color : palette[0]
  const high_color = colors.high_color != null ? colors.high_color : palette[palette.length - 1]
  this._scan_data = this.scan(data, palette.length, levels)
  this.metrics_change.emit()
  const {low, high} = levels
  const table = new Array(high - low + 1)
  for (let k = 0; k < table.length; k++)
    table[k] = this.cmap(low + k, palette, low_color, high_color)
  if (INTEGER_ARRAYS.some((type) => data instanceof type)) {  // no NaN in these
    for (let i = 0; i < data.length; i++) {
      const v = data[i]
      values[i] = v < low ? low_color : v > high ? high_color : table[v - low]
    }
    return
  }
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    if (isNaN(v))
      values[i] = nan_color
    else if (v < low)
      values[i] = low_color
    else if (v > high)
      values[i] = high_color
    else
      values[i] = table[v - low]
  }
}

mapper.change.emit()  // recolour what was drawn before these methods were in place
