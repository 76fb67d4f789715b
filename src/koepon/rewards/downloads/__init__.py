"""Downloads: signed short-lived URLs bound to an entitlement, watermarked images, the download
log, leak tracing and the fan's export archive."""
