// arguments: source
// Saves the file that the server put in `source` (one row: filename, media_type, content bytes)
// through a temporary link, then empties the source so that neither side keeps the bytes.
//
// A CustomJS callback on the source's `data`; emptying it runs this again, with nothing to save.
const data = source.data
if (data.filename.length == 0)
  return
const link = document.createElement("a")
link.href = URL.createObjectURL(new Blob([data.content[0]], {type: data.media_type[0]}))
link.download = data.filename[0]
document.body.append(link)
link.click()
link.remove()
setTimeout(() => URL.revokeObjectURL(link.href), 60_000)  // ms: long after the save has begun
source.data = {filename: [], media_type: [], content: []}
