// Spreading for display: isolated points stay visible when zoomed far in.
//
// A CustomJS callback with `sources` (the exact images the server sends), `kinds` ("values"
// or "rgba", one per source), `displays` (the sources the glyphs draw, one per exact source,
// never sent back) and `choice` (the "Spread points" Select: "auto", or a radius in pixels,
// "0" being off). It runs when an image arrives and when the choice changes.
//
// Only empty pixels change: each takes the largest value (an RGBA pixel: the most opaque
// one) within `radius` pixels, a square around it. Pixels with rows keep their exact values,
// and the hover reads the exact grid. Empty is 0 in a count grid, NaN in a grid of another
// reduction, transparent in an RGBA image.
//
// "auto" works as Datashader's dynspread: the radius grows from 0 while, at the next radius,
// at most half of the non-empty pixels would have another non-empty pixel within that
// radius; it stops at MAX_RADIUS.
const MAX_RADIUS = 3
const THRESHOLD = 0.5

// the sort key of each pixel: -Infinity where empty
function keys_of(grid, kind) {
  const keys = new Float64Array(grid.length)
  const rgba = kind == "rgba"
  const counts = !rgba && !(grid instanceof Float32Array || grid instanceof Float64Array)
  for (let p = 0; p < grid.length; p++) {
    const v = grid[p]
    if (rgba)
      keys[p] = (v >>> 24) == 0 ? -Infinity : (v >>> 24)
    else if (Number.isNaN(v) || (counts && v == 0))
      keys[p] = -Infinity
    else
      keys[p] = v
  }
  return keys
}

// the fraction of non-empty pixels with another non-empty pixel within `radius`
function density(keys, rows, columns, radius) {
  const filled = new Int32Array(keys.length)
  for (let p = 0; p < keys.length; p++)
    filled[p] = keys[p] > -Infinity ? 1 : 0
  // box sums: along rows, then along columns
  const across = new Int32Array(keys.length)
  for (let j = 0; j < rows; j++) {
    const row = j * columns
    for (let i = 0; i < columns; i++) {
      let sum = 0
      for (let k = Math.max(0, i - radius); k <= Math.min(columns - 1, i + radius); k++)
        sum += filled[row + k]
      across[row + i] = sum
    }
  }
  let nonempty = 0
  let neighboured = 0
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < columns; i++) {
      const p = j * columns + i
      if (!filled[p])
        continue
      nonempty++
      let sum = 0
      for (let k = Math.max(0, j - radius); k <= Math.min(rows - 1, j + radius); k++)
        sum += across[k * columns + i]
      if (sum > 1)
        neighboured++
    }
  }
  return nonempty == 0 ? 1 : neighboured / nonempty
}

function auto_radius(keys, rows, columns) {
  let radius = 0
  while (radius < MAX_RADIUS && density(keys, rows, columns, radius + 1) <= THRESHOLD)
    radius++
  return radius
}

// index of the pixel with the largest key within `radius` along one axis
function max_along(keys, index, rows, columns, radius, along_rows) {
  const best = new Int32Array(keys.length)
  const [outer, inner, step_outer, step_inner] = along_rows
    ? [rows, columns, columns, 1]
    : [columns, rows, 1, columns]
  for (let o = 0; o < outer; o++) {
    for (let n = 0; n < inner; n++) {
      let chosen = index[o * step_outer + n * step_inner]
      let key = keys[chosen]
      for (let k = Math.max(0, n - radius); k <= Math.min(inner - 1, n + radius); k++) {
        const candidate = index[o * step_outer + k * step_inner]
        if (keys[candidate] > key) {
          key = keys[candidate]
          chosen = candidate
        }
      }
      best[o * step_outer + n * step_inner] = chosen
    }
  }
  return best
}

function spread(grid, kind, radius) {
  const [rows, columns] = grid.shape
  const keys = keys_of(grid, kind)
  if (radius == "auto")
    radius = auto_radius(keys, rows, columns)
  if (radius <= 0)
    return grid
  const identity = new Int32Array(keys.length)
  for (let p = 0; p < keys.length; p++)
    identity[p] = p
  const best = max_along(keys, max_along(keys, identity, rows, columns, radius, true), rows, columns, radius, false)
  const out = new grid.constructor(grid, grid.shape)  // a copy, of BokehJS's own array type
  for (let p = 0; p < keys.length; p++)
    if (keys[p] == -Infinity)
      out[p] = grid[best[p]]
  return out
}

const radius = choice.value == "auto" ? "auto" : Number(choice.value)
for (let s = 0; s < sources.length; s++) {
  const data = sources[s].data
  const shown = data.image.length == 0 ? [] : [spread(data.image[0], kinds[s], radius)]
  displays[s].data = {image: shown, x: data.x, y: data.y, dw: data.dw, dh: data.dh}
}
