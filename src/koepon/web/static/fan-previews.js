// Blurred previews in the album: a content without an image preview (audio, or one still
// processing) hides its picture instead of showing a broken image.
(function () {
  function hide(img) { img.hidden = true; }
  document.querySelectorAll("img[data-preview]").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0) { hide(img); return; }
    img.addEventListener("error", function () { hide(img); });
  });
})();
