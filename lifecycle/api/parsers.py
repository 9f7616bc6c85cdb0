"""JSON request bodies that fail as a 400, whatever they hold.

DRF's JSONParser turns a syntax error into a 400 but lets the decoder's RecursionError through: a
body of 100,000 nested brackets (well under the size limit) is then a 500. This parser says 400.
"""

from rest_framework import exceptions, parsers

__all__ = ["JSONParser"]


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None
