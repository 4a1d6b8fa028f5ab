// arguments: source, axis
// Data-space edges of a histogram's bars: the image's pixel columns (or rows).
//
// The v_func of a CustomJSTransform with `source` (the image's data source) and `axis` ("x" for
// pixel columns, "y" for pixel rows). `xs` are the edge numbers, 0 to n for n pixels: edge i is
// the left (or bottom) edge of pixel i, edge n the far edge of the last. So the server never
// sends a coordinate: the edges follow from where the image lies, as Datashader's pixels do.
const data = source.data
const [start, size] = axis == "x" ? [data.x[0], data.dw[0]] : [data.y[0], data.dh[0]]
const step = size / (xs.length - 1)
return Array.from(xs, (edge) => start + edge * step)
