// arguments: plot, plots, above, right, screen, max_pixels, settle_ms
// The plot fills the window, and the server hears its frame's size in device pixels.
//
// A CustomJS callback on the document's "document_ready" event and on the plot's first layout (a
// plot added after the loading page comes after the document was ready); it installs itself
// once per plot. It sizes the image plot's frame
// (and the histograms beside it in `plots`, `above` and `right`) to the room the window leaves once the
// rest of the page is laid out, then writes the frame's size times devicePixelRatio, capped at
// `max_pixels` a side (the aspect kept), into the synced source `screen`: the server aggregates
// at that size, so one grid pixel is one pixel of the screen. Resizing the window does the same
// once it has stopped for `settle_ms`, not at every step.
if (plot._fits_window)
  return
plot._fits_window = true
const MIN_WIDTH = 200, MIN_HEIGHT = 150  // CSS px of the frame, however small the window
const MARGIN = 12  // CSS px left free at the window's right and bottom edges

function fit(tries = 100) {
  const view = Bokeh.index.find_one(plot)
  if (view == null || !view.has_finished()) {  // not drawn yet: look again shortly
    if (tries > 0)
      setTimeout(() => fit(tries - 1), 50)
    return
  }
  const frame = view.frame.bbox
  const grid = Bokeh.index.find_one(plots).el.getBoundingClientRect()
  let bottom = 0  // of the page's content, below its last root
  for (const element of document.body.children)
    bottom = Math.max(bottom, element.getBoundingClientRect().bottom + window.scrollY)
  // room the page takes besides the frame, as laid out now: axes, histograms, controls, text
  const beside = grid.left + window.scrollX + grid.width - frame.width + MARGIN
  const around = bottom - frame.height + MARGIN
  const width = Math.max(MIN_WIDTH, Math.floor(window.innerWidth - beside))
  const height = Math.max(MIN_HEIGHT, Math.floor(window.innerHeight - around))
  if (width != plot.frame_width || height != plot.frame_height) {
    plot.frame_width = width
    plot.frame_height = height
    above.frame_width = width
    right.frame_height = height
  }
  const ratio = window.devicePixelRatio || 1
  const scale = Math.min(ratio, max_pixels / width, max_pixels / height)
  const pixels = {width: [Math.round(width * scale)], height: [Math.round(height * scale)]}
  if (pixels.width[0] != screen.data.width[0] || pixels.height[0] != screen.data.height[0])
    screen.data = pixels
  plot._fitted = [pixels.height[0], pixels.width[0]]  // the grid shape to come, for tests
}

// the layout settles after the document is ready: fit once it has been drawn
requestAnimationFrame(() => requestAnimationFrame(() => fit()))
let pending = null
window.addEventListener("resize", () => {
  clearTimeout(pending)
  pending = setTimeout(() => fit(), settle_ms)
})
