"""Django messages for htmx requests.

A full page shows pending messages as toasts in the layout. An htmx request swaps only a
fragment, so pending messages travel in an HX-Trigger header instead, which the toast
script (static/js/app.js) turns into toasts.
"""

import json

from django.contrib import messages


class HtmxMessagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or 300 <= response.status_code < 400:
            return response
        if response.get("HX-Redirect") or response.get("HX-Refresh"):
            return response  # the next full page will show them
        pending = [{"level": m.level_tag, "message": str(m.message)} for m in messages.get_messages(request)]
        if pending:
            trigger = json.loads(response.get("HX-Trigger", "{}") or "{}")
            trigger["messages"] = pending
            response["HX-Trigger"] = json.dumps(trigger)
        return response
