"""Request bodies of OpenCode's API, as its OpenAPI document gives them.

Unknown keys are accepted and ignored, as OpenCode does, so a newer client's extra
fields never break a request.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SessionCreate(Body):
    parentID: str | None = None
    title: str | None = None


class ArchiveTime(Body):
    archived: int | None = None


class SessionUpdate(Body):
    title: str | None = None
    time: ArchiveTime | None = None


class TextPartInput(Body):
    type: Literal["text"]
    text: str
    synthetic: bool | None = None


class FilePartInput(Body):
    type: Literal["file"]
    mime: str
    url: str
    filename: str | None = None


class AgentPartInput(Body):
    type: Literal["agent"]
    name: str


class SubtaskPartInput(Body):
    type: Literal["subtask"]
    prompt: str
    description: str
    agent: str


PartInput = Annotated[
    TextPartInput | FilePartInput | AgentPartInput | SubtaskPartInput,
    Field(discriminator="type"),
]


class ModelChoice(Body):
    providerID: str
    modelID: str


class JSONSchemaFormat(Body):
    """OpenCode's ``OutputFormat``: answer in this JSON schema (structured output)."""

    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")
    retryCount: int | None = Field(default=None, ge=0)


class TextFormat(Body):
    type: Literal["text"]


class PromptBody(Body):
    parts: list[PartInput]
    messageID: str | None = None
    model: ModelChoice | None = None
    agent: str | None = None
    noReply: bool | None = None
    system: str | None = None
    tools: dict[str, bool] | None = None
    format: JSONSchemaFormat | TextFormat | None = Field(default=None, discriminator="type")


class SummarizeBody(Body):
    providerID: str
    modelID: str
    auto: bool | None = None


class ForkBody(Body):
    messageID: str | None = None


class PermissionRespond(Body):
    response: Literal["once", "always", "reject"]


class PermissionReplyBody(Body):
    reply: Literal["once", "always", "reject"]
    message: str | None = None
