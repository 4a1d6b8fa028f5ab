// Data-space edges of a histogram's bars: the image's pixel columns (or rows).
//
// The v_func of a CustomJSTransform with `source` (the image's data source), `axis` ("x" for
// pixel columns, "y" for pixel rows) and `side` (0 for the left or bottom edge, 1 for the right
// or top one). `xs` are the bars' pixel numbers, 0 to n - 1, so the server never sends a
// coordinate: the edges follow from where the image lies, as Datashader's pixels do.
const data = source.data
const [start, size] = axis == "x" ? [data.x[0], data.dw[0]] : [data.y[0], data.dh[0]]
const step = size / xs.length
return Array.from(xs, (pixel) => start + (pixel + side) * step)
