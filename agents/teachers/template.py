"""The offline teacher: the domain's own deterministic generators and critic.
No network, no weights; a repair attempt draws a different template."""

from __future__ import annotations

import json

from agents.teachers.base import TeacherReply, TeacherRequest
from forge.records import TeacherCall


class TemplateTeacher:
    spec = "template"

    def __init__(self, domain) -> None:
        self.domain = domain

    async def complete(self, request: TeacherRequest) -> TeacherReply:
        if request.purpose == "generate":
            data = self.domain.template_draft(request.task, request.attempt)
        else:
            data = self.domain.template_critique(request.example)
        return TeacherReply(data, json.dumps(data), TeacherCall(node=request.purpose, attempt=request.attempt, model="template"))

    async def check_reachable(self) -> None:
        return None

    async def close(self) -> None:
        return None
