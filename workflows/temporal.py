"""Shared Temporal wiring: data converter, typed search attributes, task queue, client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import temporalio.api.namespace.v1 as namespace_api
import temporalio.api.operatorservice.v1 as operator
import temporalio.api.workflowservice.v1 as workflow_service
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.service import RPCError, RPCStatusCode

from settings import DEV_PAYLOAD_KEY, DEV_PAYLOAD_KEY_ID, decode_payload_key
from workflows.codec import EncryptionCodec, build_data_converter, converter_with
from workflows.connection import connect as secure_connect

if TYPE_CHECKING:
    from settings import Settings

# The single place PHI encryption plugs in. DATA_CONVERTER encrypts with the public dev key,
# so tests and the dev stack run exactly the production code path; processes that serve
# real patients build theirs from settings with data_converter(settings).
PAYLOAD_CODEC: PayloadCodec = EncryptionCodec(
    {DEV_PAYLOAD_KEY_ID: decode_payload_key(DEV_PAYLOAD_KEY)}, DEV_PAYLOAD_KEY_ID
)
DATA_CONVERTER: DataConverter = converter_with(PAYLOAD_CODEC)


def data_converter(settings: Settings) -> DataConverter:
    """The converter of `settings`' payload keys; raises PayloadKeyError if there are none."""
    return build_data_converter(settings)


EpisodeState = SearchAttributeKey.for_keyword("EpisodeState")
PayerId = SearchAttributeKey.for_keyword("PayerId")
NextDeadline = SearchAttributeKey.for_datetime("NextDeadline")
AuthorizationEnd = SearchAttributeKey.for_datetime("AuthorizationEnd")
# The server setting that hands an activity a workflow starts straight back to the worker
# that started it, with the workflow task's answer (set by `stepdown dev`, the bench and the
# cluster's Helm values): one round through matching less per activity.
EAGER_ACTIVITIES = "system.enableActivityEagerExecution"
SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    EpisodeState,
    PayerId,
    NextDeadline,
    AuthorizationEnd,
)


class SearchAttributeMismatch(RuntimeError):
    """A search attribute exists on the server with another type than ours."""


async def connect(settings: Settings, **options: Any) -> Client:
    """A client of the settings' Temporal (TLS, mTLS, API key): see workflows/connection.py."""
    return await secure_connect(settings, **options)


async def register_search_attributes(
    client: Client, namespace: str, keys: Sequence[SearchAttributeKey[Any]] = SEARCH_ATTRIBUTES
) -> None:
    """Register `keys` in `namespace`; safe to call on every start."""
    wanted = {key.name: key.indexed_value_type for key in keys}
    request = operator.AddSearchAttributesRequest(
        namespace=namespace,
        search_attributes={n: IndexedValueType.ValueType(k) for n, k in wanted.items()},
    )
    try:
        await client.operator_service.add_search_attributes(request)
    except RPCError as err:
        # Older servers and the time-skipping server answer ALREADY_EXISTS on a re-run.
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise
    await _check_types(client, namespace, wanted)


async def _check_types(
    client: Client, namespace: str, wanted: dict[str, SearchAttributeIndexedValueType]
) -> None:
    # The dev server only logs a warning when a name exists with another type, so a
    # mismatch would otherwise surface later as failing workflow tasks.
    try:
        listed = await client.operator_service.list_search_attributes(
            operator.ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as err:
        # The time-skipping server cannot list search attributes; there we cannot check.
        if err.status == RPCStatusCode.UNIMPLEMENTED:
            return
        raise
    for name, kind in wanted.items():
        found = listed.custom_attributes.get(name)
        if found != int(kind):
            raise SearchAttributeMismatch(f"{name}: server has {found}, expected {int(kind)}")


async def ensure_retention(client: Client, namespace: str, days: int) -> str:
    """Sets how long Temporal keeps closed runs of `namespace` (registering the namespace
    when it does not exist yet); safe to call on every start. Returns what it did.

    Temporal is not the record (the event store is, README "The record"); this bounds how
    long histories stay for debugging and for `stepdown episode export`. A server that
    refuses (the time-skipping server, Temporal Cloud's namespaces, which `tcld` or the Cloud
    ops API manage, a frontend without admin rights) is reported, not fatal.
    """
    ttl = Duration(seconds=days * 86400)
    service = client.workflow_service
    try:
        described = await service.describe_namespace(
            workflow_service.DescribeNamespaceRequest(namespace=namespace)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            await service.register_namespace(
                workflow_service.RegisterNamespaceRequest(
                    namespace=namespace, workflow_execution_retention_period=ttl
                )
            )
            return f"registered namespace {namespace} with a retention of {days} days"
        if err.status in (RPCStatusCode.UNIMPLEMENTED, RPCStatusCode.PERMISSION_DENIED):
            return f"retention not set ({err.status.name}): set it on the server"
        raise
    current = described.config.workflow_execution_retention_ttl.ToSeconds()
    if current == ttl.seconds:
        return f"retention of {namespace} is {days} days"
    try:
        await service.update_namespace(
            workflow_service.UpdateNamespaceRequest(
                namespace=namespace,
                config=namespace_api.NamespaceConfig(workflow_execution_retention_ttl=ttl),
            )
        )
    except RPCError as err:
        if err.status in (RPCStatusCode.UNIMPLEMENTED, RPCStatusCode.PERMISSION_DENIED):
            return f"retention not set ({err.status.name}): set it on the server"
        raise
    return f"retention of {namespace} set from {current // 86400} to {days} days"


async def namespace_retention_days(client: Client, namespace: str) -> float | None:
    """The retention the server holds for `namespace`, in days; None when it cannot say."""
    try:
        described = await client.workflow_service.describe_namespace(
            workflow_service.DescribeNamespaceRequest(namespace=namespace)
        )
    except RPCError:
        return None
    return described.config.workflow_execution_retention_ttl.ToSeconds() / 86400
