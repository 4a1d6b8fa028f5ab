// arguments: sources, kinds, displays, choice
// Spreading for display: isolated points stay visible when zoomed far in.
//
// A CustomJS callback with `sources` (the exact images the server sends), `kinds` ("values"
// or "rgba", one per source), `displays` (the sources the glyphs draw, one per exact source,
// never sent back) and `choice` (the "Spread points" Select: "auto", or a radius in pixels,
// "0" being off). It runs when an image arrives and when the choice changes.
//
// Only empty pixels change: each takes the largest value (an RGBA pixel: the most opaque
// one) within `radius` pixels, a square around it. Pixels with rows keep their exact values,
// and the hover read-out reads the exact grid. Empty is 0 in a count grid, NaN in a grid of another
// reduction, transparent in an RGBA image.
//
// "auto" works as Datashader's dynspread: the radius grows from 0 while, at the next radius,
// at most half of the non-empty pixels would have another non-empty pixel within that
// radius; it stops at MAX_RADIUS.
const MAX_RADIUS = 3
const THRESHOLD = 0.5

// the sort key of each pixel: -Infinity where empty, else its value (an RGBA pixel: its alpha)
function keys_of(grid, kind, filled) {
  const keys = new Float64Array(grid.length)
  const rgba = kind == "rgba"
  for (let p = 0; p < grid.length; p++)
    keys[p] = filled[p] == 0 ? -Infinity : rgba ? grid[p] >>> 24 : grid[p]
  return keys
}

// 1 where a pixel has rows, 0 where it is empty
function filled_of(grid, kind) {
  const filled = new Uint8Array(grid.length)
  if (kind == "rgba") {
    for (let p = 0; p < grid.length; p++)
      filled[p] = (grid[p] >>> 24) == 0 ? 0 : 1
  } else if (grid instanceof Float32Array || grid instanceof Float64Array) {
    for (let p = 0; p < grid.length; p++)
      filled[p] = Number.isNaN(grid[p]) ? 0 : 1
  } else {
    for (let p = 0; p < grid.length; p++)
      filled[p] = grid[p] == 0 ? 0 : 1
  }
  return filled
}

// Calls `visit(p, i0, i1, j0, j1)` for each non-empty pixel p, with the columns i0..i1 and rows
// j0..j1 of its square of `radius` inside the grid, until `visit` returns true.
function each_filled_window(filled, rows, columns, radius, visit) {
  for (let j = 0; j < rows; j++) {
    const j0 = Math.max(0, j - radius), j1 = Math.min(rows - 1, j + radius)
    for (let i = 0; i < columns; i++) {
      const p = j * columns + i
      if (filled[p] != 0 && visit(p, Math.max(0, i - radius), Math.min(columns - 1, i + radius), j0, j1))
        return
    }
  }
}

// whether more than THRESHOLD of the non-empty pixels have another non-empty pixel within
// `radius`: each pixel's window is searched only until a neighbour turns up, and the scan stops
// as soon as the answer is known, so dense images cost about one look per pixel
function crowded(filled, rows, columns, radius, nonempty) {
  const needed = THRESHOLD * nonempty
  let neighboured = 0
  let left = nonempty
  let answer = null
  each_filled_window(filled, rows, columns, radius, (p, i0, i1, j0, j1) => {
    let found = false
    for (let k = j0; k <= j1 && !found; k++) {
      const row = k * columns
      for (let m = i0; m <= i1; m++) {
        if (filled[row + m] != 0 && row + m != p) {
          found = true
          break
        }
      }
    }
    if (found && ++neighboured > needed)
      answer = true
    else if (--left + neighboured <= needed)
      answer = false
    return answer !== null
  })
  return answer !== null ? answer : neighboured > needed
}

function auto_radius(filled, nonempty, rows, columns) {
  if (nonempty == 0)
    return 0
  let radius = 0
  while (radius < MAX_RADIUS && !crowded(filled, rows, columns, radius + 1, nonempty))
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

// Each non-empty pixel offers its value to the empty pixels of its square, which keep the
// largest offer: work in proportion to the points, for the sparse images that spreading is for
// (a far zoom). An empty pixel holds no value until offered one (0 for counts, NaN for other
// reductions, transparent for RGBA), and every offer beats none.
function splat(grid, kind, filled, rows, columns, radius) {
  const out = new grid.constructor(grid, grid.shape)  // a copy, of BokehJS's own array type
  const rgba = kind == "rgba"
  each_filled_window(filled, rows, columns, radius, (p, i0, i1, j0, j1) => {
    const value = grid[p]
    const key = rgba ? value >>> 24 : value
    for (let k = j0; k <= j1; k++) {
      for (let q = k * columns + i0, end = k * columns + i1; q <= end; q++) {
        if (filled[q] != 0)
          continue
        const held = out[q]
        if (rgba ? key > held >>> 24 : !(held >= key))  // NaN and 0 (no offer yet) lose
          out[q] = value
      }
    }
    return false
  })
  return out
}

// The largest key within the square, as a maximum along the rows and then along the columns:
// work in proportion to the pixels, for dense images.
function separable(grid, kind, filled, rows, columns, radius) {
  const keys = keys_of(grid, kind, filled)
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

function spread(grid, kind, radius) {
  if (radius === 0)  // off
    return grid
  const [rows, columns] = grid.shape
  const filled = filled_of(grid, kind)
  let nonempty = 0
  for (let p = 0; p < filled.length; p++)
    nonempty += filled[p]
  if (radius == "auto")
    radius = auto_radius(filled, nonempty, rows, columns)
  if (radius <= 0)
    return grid
  // splat: (2r + 1)^2 looks per point; separable: 2 (2r + 1) per pixel
  const side = 2 * radius + 1
  return nonempty * side < 2 * filled.length
    ? splat(grid, kind, filled, rows, columns, radius)
    : separable(grid, kind, filled, rows, columns, radius)
}

const radius = choice.value == "auto" ? "auto" : Number(choice.value)
for (let s = 0; s < sources.length; s++) {
  const data = sources[s].data
  const shown = data.image.length == 0 ? [] : [spread(data.image[0], kinds[s], radius)]
  displays[s].data = {image: shown, x: data.x, y: data.y, dw: data.dw, dh: data.dh}
}
