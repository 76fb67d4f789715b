"""The rewards service's refusals as typed domain errors (made RFC 9457 problems at the edge).

Sub-domains add theirs here, one class per stable ``code``.
"""

from __future__ import annotations

from koepon.kernel.errors import DomainError, Unavailable


class ContentNotFound(DomainError):
    status = 404
    code = "content_not_found"


class EntitlementNotFound(DomainError):
    status = 404
    code = "entitlement_not_found"


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"


class VtuberServiceUnavailable(Unavailable):
    """The VTuber service could not say what the caller may do for a VTuber: nothing was
    read or written; try again shortly."""

    code = "dependency_unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, dependency="vtuber service")


# --- contents: uploads and their refusals ----------------------------------------------------


class ContentTypeMismatch(DomainError):
    """The declared Content-Type or file extension disagrees with the file's bytes."""

    status = 415
    code = "content_type_mismatch"


class UnsupportedContentType(DomainError):
    """The bytes are none of the accepted types (PNG/JPEG/WebP, MP3/WAV/OGG/M4A, MP4/WebM, PDF)."""

    status = 415
    code = "unsupported_content_type"


class PolyglotRefused(DomainError):
    """The file can be read as two types, or hides a document, archive or script."""

    status = 422
    code = "polyglot_refused"


class ContentTooLarge(DomainError):
    status = 413
    code = "content_too_large"


class ImageTooLarge(DomainError):
    """An image side is longer than the limit."""

    status = 422
    code = "image_too_large"


class DecompressionBomb(DomainError):
    """The image decodes to more pixels than the limit."""

    status = 422
    code = "decompression_bomb"


class ImageUnreadable(DomainError):
    status = 422
    code = "image_unreadable"


class InvalidUpload(DomainError):
    """The upload request itself is malformed (no file part, no title, not multipart)."""

    status = 422
    code = "invalid_upload"


class DirectUploadUnavailable(DomainError):
    """The store cannot sign upload URLs (local disk): send the file through the service."""

    status = 409
    code = "direct_upload_unavailable"


class UploadNotFinished(DomainError):
    """A direct upload was completed before the file reached the store."""

    status = 409
    code = "upload_not_finished"


class ContentStatusConflict(DomainError):
    status = 409
    code = "content_status_conflict"


# --- downloads ---


class DownloadLinkInvalid(DomainError):
    """A download URL this service did not sign as it is (tampered, malformed, another
    version), or one that is not the caller's."""

    status = 403
    code = "download_link_invalid"


class DownloadLinkExpired(DomainError):
    """A genuine download URL past its expiry, or an export archive no longer kept."""

    status = 410
    code = "download_link_expired"


class DownloadsRateLimited(DomainError):
    status = 429
    code = "downloads_rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, retry_after=retry_after)


class ExportsRateLimited(DownloadsRateLimited):
    code = "exports_rate_limited"


class EntitlementRevoked(DomainError):
    """The fan's entitlement was revoked (its draw was reversed): it can no longer be
    downloaded."""

    status = 410
    code = "entitlement_revoked"


class ExportNotFound(DomainError):
    status = 404
    code = "export_not_found"


class UploadsRateLimited(DomainError):
    """A VTuber's team started more uploads this hour than ``KOEPON_UPLOADS_PER_HOUR``."""

    status = 429
    code = "uploads_rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, retry_after=retry_after)
