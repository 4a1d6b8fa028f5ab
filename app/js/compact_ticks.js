// arguments: source
// A tick label that stays short at any scale: 950, 1.2K, 200K, 3.4M, 1.2B.
//
// The code of a CustomJSTickFormatter: BokehJS calls it for each `tick` (of `ticks`, at `index`).
// The colour bar's labels: whole numbers when the grid in `source` (the page's exact image) holds
// integers, as count grids do. A label that would repeat the one before it (two equal-histogram
// ticks within one count) is left empty.
const grid = source.data.image.length ? source.data.image[0] : null
const integers = grid != null && !(grid instanceof Float32Array || grid instanceof Float64Array)

function label(value) {
  const size = Math.abs(value)
  for (const [scale, suffix] of [[1e9, "B"], [1e6, "M"], [1e3, "K"]]) {
    if (size >= scale)
      return `${Number((value / scale).toPrecision(3))}${suffix}`
  }
  return integers ? String(Math.round(value)) : String(Number(value.toPrecision(3)))
}

const text = label(tick)
return index > 0 && label(ticks[index - 1]) == text ? "" : text
