from __future__ import annotations

from parley.http import api, lambda_handler
from parley.models.base import Page
from parley.models.notifications import Notification, NotificationsQuery
from parley.services import notifications

app = api()


@app.get("/v1/notifications")
def list_notifications(query: NotificationsQuery) -> Page[Notification]:
    return notifications.list_notifications(app.principal, query)


handler = lambda_handler(app)
