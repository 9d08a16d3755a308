"""Streaming the `file` part out of a multipart/form-data upload without buffering it.

Starlette's `request.form()` spools whole parts to temporary files before we see them, which
would write every upload twice; python-multipart's push parser lets us hash and store the part
as it arrives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.multipart import MultipartParser, parse_options_header


class MultipartError(ValueError):
    """The body is not the multipart/form-data its Content-Type announced."""


class FilePart:
    """Feeds body chunks to the parser and yields the bytes of the chosen file part."""

    def __init__(self, content_type: str) -> None:
        _, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if not boundary:
            raise MultipartError("multipart body without a boundary")
        self.filename: str | None = None
        self._found = False
        self._in_file = False
        self._done_with_file = False
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._out: list[bytes] = []
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value_part,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    async def stream(self, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in body:
            try:
                self._parser.write(chunk)
            except Exception as exc:  # python-multipart raises its own error types
                raise MultipartError(f"malformed multipart body: {exc}") from exc
            if self._out:
                out, self._out = self._out, []
                yield b"".join(out)
        if not self._found:
            raise MultipartError("multipart body has no 'file' part")

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        is_file_field = options.get(b"name") == b"file" or b"filename" in options
        if is_file_field and not self._done_with_file:
            self._found = self._in_file = True
            raw_name = options.get(b"filename")
            self.filename = raw_name.decode("utf-8", "replace") if raw_name else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._out.append(data[start:end])

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file, self._done_with_file = False, True
