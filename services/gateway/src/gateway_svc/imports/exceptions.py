"""What can go wrong with an import, in the domain's words."""

from qunyun_shared.problems import DomainError, InvalidInput, NotFound


class ImportNotFound(NotFound):
    slug = "import-not-found"


class MalformedImport(InvalidInput):
    """The file cannot be read as the kind it is said to be: not UTF-8, a wrong header, no lines."""

    slug = "malformed-import"


class UnsupportedImportFormat(DomainError):
    status, slug, title = 415, "unsupported-import-format", "Unsupported media type"
