"""Write (or check) events/<LogicalId>.json: a realistic sample event for every function in template.yaml.

    python -m tests.built.sample_events            write the events of functions that have none
    python -m tests.built.sample_events --check    exit 1 if an event is missing, stray or off-route
    python -m tests.built.sample_events --force HealthFunction   rewrite the named functions' events

The events come from devstack.events, the builders the devstack's gateway and pollers use, so a
sample has exactly the shape AWS sends: HTTP API payload 2.0 for routes, the HTTP API REQUEST
authorizer event for authorizers, the WebSocket API's events for its routes and its $connect
authorizer, SQS and EventBridge schedule events for workers.
Use them with `sam local invoke <LogicalId> -e events/<LogicalId>.json`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import events
from devstack.resources import LocalResources
from devstack.template import FunctionSpec, HttpRoute, Intrinsic, Template, load_template, websocket_api

API_ID = "a1b2c3d4e5"
DOMAIN = f"{API_ID}.execute-api.us-east-1.amazonaws.com"
SOURCE_IP = "203.0.113.10"  # TEST-NET-3: documentation addresses, never a real client
SAMPLE_API_KEY = "pk_sample-key-for-local-invocation-only-000000000"

# Sample ids per path parameter, shaped as parley.ids makes them (<prefix>_<ULID>).
SAMPLE_IDS = {
    "workspace_id": "ws_01JD2Q8M6X3V7T9K4B5N0RZC1A",
    "key_id": "key_01JD2QB7W4F9XK2M8N3P5R6T7V",
    "conversation_id": "conv_01JD2QD3H8M2N4P6R8T0V2X4Z6",
    "message_id": "msg_01JD2QF1A3C5E7G9J1K3M5P7R9",
    "turn_id": "turn_01JD2QG5B7D9F1H3K5M7Q9S1V3",
    "job_id": "job_01JD2QH2C4E6G8J0M2P4R6T8W0",
    "agent_id": "agent_01JD2QJ6D8F0H2K4N6Q8S0V2X4",
    "provider_id": "prov_01JD2QK1E3G5J7M9P1R3T5W7Y9",
    "file_id": "file_01JD2QM4F6H8K0N2Q4S6V8X0Z2",
    # An inbox's ULID is also a uuid v4 (parley.ids.uuid4_ulid) ...
    "inbox_id": "inbox_01JD2QR2J486P8S0V2X4Z6C8E0",
    "webhook_id": "wh_01JD2QP8H0K2M4P6R8T0W2Y4B6",
    # ... spelled as a uuid, it is Shinkai's files inbox name (ids.uuid_of_ulid); and a file name in it.
    "inbox_name": "0193457c-0a44-41ac-8c83-62e93e6621c0",
    "filename": "notes.md",
    # A tool's key: Shinkai's local:::<toolkit>:::<tool>, the toolkit an agent's id.
    "tool_key": "local:::agent_01JD2QJ6D8F0H2K4N6Q8S0V2X4:::get_weather",
}
# Mintlify's path parameters: its project is the key's workspace, its job a native job.
SAMPLE_IDS["projectId"] = SAMPLE_IDS["workspace_id"]
SAMPLE_IDS["id"] = SAMPLE_IDS["job_id"]

# Shinkai's job id and job inbox formats (jobid_<uuid v4>, job_inbox::<job id>::false).
SHINKAI_JOB_ID = "jobid_3f1c2a9e-7b4d-4e8a-9c6f-2d5b8a1e4f70"
SHINKAI_INBOX = f"job_inbox::{SHINKAI_JOB_ID}::false"
# A SerializedLLMProvider as the reference shows it (the API key is a placeholder, never a real one).
_SHINKAI_LLM_PROVIDER = {
    "id": "my_gpt",
    "full_identity_name": "@@localhost.sep-shinkai/main/agent/my_gpt",
    "perform_locally": False,
    "external_url": "https://api.openai.com",
    "api_key": "sk-placeholder",
    "model": "openai:gpt-4o-mini",
    "toolkit_permissions": [],
    "storage_bucket_permissions": [],
    "allowed_message_senders": [],
}

# The principal the authorizer vouches for on authorized routes (context values are strings).
AUTHORIZER_CONTEXT = {
    "workspace_id": SAMPLE_IDS["workspace_id"],
    "key_id": SAMPLE_IDS["key_id"],
    "role": "admin",
    "deployment_admin": "true",
}


@dataclass(frozen=True)
class RawBody:
    """A request body that is not JSON (a multipart/form-data upload), with its content type."""

    content_type: str
    data: bytes


_UPLOAD_BOUNDARY = "----parley-sample-7MA4YWxkTrZu0gW"

# Sensible request bodies per route. A POST/PUT/PATCH route missing here gets no body (the writer
# says so): add it here and rewrite its event with --force <LogicalId>.
ROUTE_BODIES: dict[str, Any] = {
    "POST /v1/setup": {"workspace_name": "Acme"},
    "POST /v1/workspaces": {"name": "Research"},
    "POST /v1/knowledge/search": {"query": "How long is the refund window?", "k": 5},
    "PUT /v1/folders/{folder_id}/share": {"description": "Product guides", "open": True},
    "POST /v1/folders/{folder_id}/share/links": {"expires_in_seconds": 86400, "single_use": True},
    "POST /v1/subscriptions": {"link_token": "psl_sample-token-shown-once"},
    "POST /v2/available_shared_items": {
        "path": "/",
        "streamer_node_name": "@@localhost.sep-shinkai",
        "streamer_profile_name": "ws_01J0000000000000000000000",
    },
    "POST /v2/available_shared_items_open": {
        "path": "/",
        "streamer_node_name": "@@localhost.sep-shinkai",
        "streamer_profile_name": "ws_01J0000000000000000000000",
    },
    "POST /v2/create_shareable_folder": {
        "path": "/guides",
        "subscription_req": {"is_free": True, "folder_description": "Product guides"},
    },
    "POST /v2/update_shareable_folder": {
        "path": "/guides",
        "subscription": {"is_free": True, "folder_description": "Product guides, 2025"},
    },
    "POST /v2/unshare_folder": {"path": "/guides"},
    "POST /v2/subscribe_to_shared_folder": {
        "path": "/guides",
        "streamer_node_name": "@@localhost.sep-shinkai",
        "streamer_profile_name": "ws_01J0000000000000000000000",
        "payment": "Free",
    },
    "POST /v2/unsubscribe": {
        "path": "/guides",
        "streamer_node_name": "@@localhost.sep-shinkai",
        "streamer_profile_name": "ws_01J0000000000000000000000",
    },
    "POST /v2/my_subscribers": {"path": "/"},
    "POST /v2/http_free_subscription_links": "ws_01J0000000000000000000000:::/guides",
    "POST /v2/last_notifications": {"count": 10},
    "POST /v2/notifications_before_timestamp": {"timestamp": "2025-01-01T00:00:00Z", "count": 10},
    "POST /v1/api-keys": {"name": "ci", "role": "member"},
    "PUT /v1/tools/{tool_key}/offering": {"usage_type": {"per_use": "free"}, "meta_description": "Weather"},
    "POST /v2/set_tool_offering": {
        "tool_offering": {
            "tool_key": "local:::agent_01JD2QJ6D8F0H2K4N6Q8S0V2X4:::get_weather",
            "usage_type": {"PerUse": "Free"},
            "meta_description": "Weather",
        }
    },
    "POST /v2/get_tool_offering": {"tool_key_name": "local:::agent_01JD2QJ6D8F0H2K4N6Q8S0V2X4:::get_weather"},
    "POST /v2/remove_tool_offering": {
        "tool_key_name": "local:::agent_01JD2QJ6D8F0H2K4N6Q8S0V2X4:::get_weather"
    },
    "POST /v2/get_tool_with_offering": {
        "tool_key_name": "local:::agent_01JD2QJ6D8F0H2K4N6Q8S0V2X4:::get_weather"
    },
    "POST /v2/get_agent_network_offering": {"node_name": "@@other.sep-shinkai", "auto_check": True},
    "POST /v1/providers": {
        "name": "Local Ollama",
        "kind": "openai",
        "base_url": "http://localhost:11434/v1",
        "default_model": "llama3.1:8b",
        "options": {"read_timeout_seconds": 120},
    },
    "PATCH /v1/providers/{provider_id}": {"default_model": "llama3.1:70b"},
    "POST /v1/agents": {
        "name": "Support",
        "instructions": "You answer questions about Acme's orders, briefly and politely.",
        "provider_id": SAMPLE_IDS["provider_id"],
        "model": "llama3.1:8b",
        "temperature": 0.3,
        "history_messages": 20,
    },
    "PATCH /v1/agents/{agent_id}": {"instructions": "You answer questions about Acme's orders."},
    "POST /v1/conversations": {"title": "Order status", "metadata": {"channel": "web"}},
    "PATCH /v1/conversations/{conversation_id}": {"title": "Order #1234 status"},
    "POST /v1/conversations/{conversation_id}/messages": {
        "content": "Where is my order #1234?",
        "sender_id": "user_42",
    },
    "PATCH /v1/conversations/{conversation_id}/messages/{message_id}": {"tags": ["orders"]},
    "POST /v1/conversations/{conversation_id}/messages/{message_id}/edit": {
        "content": "Where is my order #1235?"
    },
    "PUT /v1/conversations/{conversation_id}/messages/{message_id}/feedback": {
        "rating": "like",
        "user_id": "user_42",
    },
    "POST /v1/jobs": {
        "prompt": "Add a quickstart guide for the Python SDK",
        "source": {"repository": "https://github.com/acme/docs", "ref": "main"},
        "metadata": {"ticket": "DOC-42"},
    },
    "PATCH /v1/jobs/{job_id}": {"title": "Python SDK quickstart"},
    "POST /v1/jobs/{job_id}/messages": {"content": "Also add error handling examples"},
    "POST /v1/jobs/{job_id}/complete": {
        "summary": "Added the quickstart",
        "result_link": "https://github.com/acme/docs/pull/7",
    },
    "POST /v1/jobs/{job_id}/fail": {"reason": "The repository is not reachable"},
    "POST /v1/jobs/{job_id}/archive": {},
    "PUT /v1/jobs/{job_id}/config": {"custom_system_prompt": "Write for beginners.", "temperature": 0.2},
    "PUT /v1/jobs/{job_id}/scope": {"inboxes": [], "files": []},
    "POST /v1/stream-tokens": {"conversation_ids": [SAMPLE_IDS["conversation_id"]], "expires_in": 300},
    "POST /v1/webhooks": {
        "url": "https://hooks.example.com/parley",
        "events": ["turn.*", "job.completed"],
        "description": "Order bot",
    },
    "PATCH /v1/webhooks/{webhook_id}": {"enabled": False, "rotate_secret": True},
    "POST /v1/inboxes": {"name": "Contracts"},
    "PATCH /v1/inboxes/{inbox_id}": {"name": "Signed contracts"},
    "POST /v1/inboxes/{inbox_id}/files": RawBody(
        f"multipart/form-data; boundary={_UPLOAD_BOUNDARY}",
        (
            f"--{_UPLOAD_BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="notes.md"\r\n'
            "Content-Type: text/markdown\r\n\r\n"
            "# Contract notes\n\nRenewal is due on 1 March.\n\r\n"
            f"--{_UPLOAD_BOUNDARY}--\r\n"
        ).encode(),
    ),
    "POST /v1/files": {
        "inbox_id": SAMPLE_IDS["inbox_id"],
        "name": "q3-report.pdf",
        "content_type": "application/pdf",
        "size": 482133,
    },
    "PUT /v1/settings/models": {
        "default_embedding_model": "snowflake-arctic-embed:xs",
        "supported_embedding_models": ["snowflake-arctic-embed:xs", "nomic-embed-text:latest"],
    },
    # Mintlify agent API v2 (a project is the key's workspace).
    "POST /v2/agent/{projectId}/job": {"prompt": "Add a quickstart guide for the Python SDK"},
    "POST /v2/agent/{projectId}/job/{id}/message": {"prompt": "Also add error handling examples"},
    # Odyssey (camelCase bodies; the workspace is the key's).
    "POST /api/chat/message": {
        "workspaceId": SAMPLE_IDS["workspace_id"],
        "conversationId": SAMPLE_IDS["conversation_id"],
        "message": "Where is my order #1234?",
        "disableMemory": True,
        "isFirst": False,
    },
    "POST /api/conversations": {"workspaceId": SAMPLE_IDS["workspace_id"], "conversationName": "Orders"},
    # Shinkai node API v2: jobs and smart inboxes (the reference's request examples).
    "POST /v2/create_job": {
        "llm_provider": SAMPLE_IDS["agent_id"],
        "job_creation_info": {
            "scope": {
                "local_vrkai": [],
                "local_vrpack": [],
                "vector_fs_items": [],
                "vector_fs_folders": [],
                "network_folders": [],
            },
            "is_hidden": False,
            "associated_ui": None,
        },
    },
    "POST /v2/job_message": {
        "job_message": {
            "job_id": SHINKAI_JOB_ID,
            "content": "Summarise the Q3 report",
            "files_inbox": "",
        }
    },
    "POST /v2/last_messages": {"inbox_name": SHINKAI_INBOX, "limit": 10, "offset_key": None},
    "POST /v2/last_messages_with_branches": {"inbox_name": SHINKAI_INBOX, "limit": 10, "offset_key": None},
    "POST /v2/retry_message": {"message_id": SAMPLE_IDS["message_id"], "inbox_name": SHINKAI_INBOX},
    "POST /v2/update_job_config": {"job_id": SHINKAI_JOB_ID, "config": {"temperature": 0.2}},
    "POST /v2/update_job_scope": {
        "job_id": SHINKAI_JOB_ID,
        "job_scope": {"vector_fs_items": [], "vector_fs_folders": [{"path": "/reports"}]},
    },
    "POST /v2/change_job_llm_provider": {"job_id": SHINKAI_JOB_ID, "new_agent_id": SAMPLE_IDS["agent_id"]},
    "POST /v2/stop_llm": {"inbox_name": SHINKAI_INBOX},
    "POST /v2/update_smart_inbox_name": {"inbox_name": SHINKAI_INBOX, "custom_name": "Q3 report"},
    # Folders (issue 18): native, then Shinkai's Vector File System.
    "POST /v1/folders": {"path": "/guides/2025"},
    "PATCH /v1/folders/{folder_id}": {"path": "/archive/guides-2025"},
    "POST /v1/folders/{folder_id}/copy": {"path": "/guides/2025-copy"},
    "PATCH /v1/files/{file_id}": {"folder_id": SAMPLE_IDS["inbox_id"], "name": "notes-2025.md"},
    "POST /v1/files/{file_id}/copy": {"folder_id": SAMPLE_IDS["inbox_id"]},
    "POST /v2/create_folder": {"path": "/guides", "folder_name": "2025"},
    "POST /v2/move_item": {"origin_path": "/guides/notes.md", "destination_path": "/archive/notes.md"},
    "POST /v2/copy_item": {"origin_path": "/guides/notes.md", "destination_path": "/archive"},
    "POST /v2/move_folder": {"origin_path": "/guides/2025", "destination_path": "/archive/2025"},
    "POST /v2/copy_folder": {"origin_path": "/guides/2025", "destination_path": "/archive/2025"},
    "POST /v2/delete_folder": {"path": "/archive/2025"},
    "POST /v2/delete_item": {"path": "/archive/notes.md"},
    "POST /v2/search_items": {"path": "/guides", "search": "renewal date", "max_results": 5},
    "POST /v2/convert_files_and_save": {"path": "/guides", "file_inbox": SAMPLE_IDS["inbox_name"]},
    "POST /v2/upload_file_to_folder": RawBody(
        f"multipart/form-data; boundary={_UPLOAD_BOUNDARY}",
        (
            f"--{_UPLOAD_BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="path"\r\n\r\n'
            "/guides\r\n"
            f"--{_UPLOAD_BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="filename"\r\n\r\n'
            "notes.md\r\n"
            f"--{_UPLOAD_BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file_data"; filename="notes.md"\r\n'
            "Content-Type: text/markdown\r\n\r\n"
            "# Contract notes\n\nRenewal is due on 1 March.\n\r\n"
            f"--{_UPLOAD_BOUNDARY}--\r\n"
        ).encode(),
    ),
    "POST /v2/upload_file_to_job": RawBody(
        f"multipart/form-data; boundary={_UPLOAD_BOUNDARY}",
        (
            f"--{_UPLOAD_BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="job_id"\r\n\r\n'
            f"{SHINKAI_JOB_ID}\r\n"
            f"--{_UPLOAD_BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="filename"\r\n\r\n'
            "notes.md\r\n"
            f"--{_UPLOAD_BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file_data"; filename="notes.md"\r\n'
            "Content-Type: text/markdown\r\n\r\n"
            "# Contract notes\n\nRenewal is due on 1 March.\n\r\n"
            f"--{_UPLOAD_BOUNDARY}--\r\n"
        ).encode(),
    ),
    # Shinkai node API v2: files inboxes, LLM providers and node settings.
    "POST /v2/add_file_to_inbox": RawBody(
        f"multipart/form-data; boundary={_UPLOAD_BOUNDARY}",
        (
            f"--{_UPLOAD_BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file_inbox_name"\r\n\r\n'
            f"{SAMPLE_IDS['inbox_name']}\r\n"
            f"--{_UPLOAD_BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="filename"\r\n\r\n'
            "notes.md\r\n"
            f"--{_UPLOAD_BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file_data"; filename="notes.md"\r\n'
            "Content-Type: text/markdown\r\n\r\n"
            "# Contract notes\n\nRenewal is due on 1 March.\n\r\n"
            f"--{_UPLOAD_BOUNDARY}--\r\n"
        ).encode(),
    ),
    "POST /v2/add_llm_provider": _SHINKAI_LLM_PROVIDER,
    "POST /v2/modify_llm_provider": {**_SHINKAI_LLM_PROVIDER, "model": "openai:gpt-4o"},
    "POST /v2/remove_llm_provider": "my_gpt",
    "POST /v2/initial_registration": {"profile_encryption_pk": "9a" * 32, "profile_identity_pk": "4f" * 32},
    "POST /v2/default_embedding_model": "snowflake-arctic-embed:xs",
    "POST /v2/supported_embedding_models": ["snowflake-arctic-embed:xs", "nomic-embed-text:latest"],
    "POST /v2/add_ollama_models": {"models": ["llama3.1:8b"]},
    "POST /v2/change_node_name": "@@parley.sep-shinkai",
    "POST /v2/local_processing_preference": True,
    # Mielto (docs.mielto.com): the seed page's request example.
    "POST /api/v1/messages": {
        "conversation_id": SAMPLE_IDS["conversation_id"],
        "content": {"content": "Hello", "role": "user", "message_type": "text", "sender_id": "u1"},
        "enable_memories": False,
    },
    "PUT /api/v1/messages/{message_id}": {"tags": ["orders"], "meta_data": {"channel": "web"}},
    "POST /api/v1/conversations": {"title": "Onboarding", "is_public": False, "owner_id": "user-1"},
    # Memories, native and Mielto's (mieltoinc/mielto-sdk types/memory.ts).
    "POST /v1/memories": {"user_id": "user-1", "memory": "The user lives in Lisbon.", "topics": ["home"]},
    "PATCH /v1/memories/{memory_id}": {"memory": "The user lives in Porto."},
    "POST /v1/memories/search": {"query": "where does the user live", "user_id": "user-1", "limit": 5},
    "POST /v1/memories/from_messages": {
        "user_id": "user-1",
        "messages": [{"role": "user", "content": "I live in Lisbon and I prefer tea."}],
    },
    "POST /api/v1/memories": {"user_id": "user-1", "memory": "The user prefers tea.", "topics": ["food"]},
    "PUT /api/v1/memories/{memory_id}": {"user_id": "user-1", "memory": "The user prefers coffee."},
    "POST /api/v1/memories/{memory_id}/replace": {"user_id": "user-1", "memory": "The user prefers water."},
    "POST /api/v1/memories/search": {"query": "drinks", "user_id": "user-1", "limit": 5},
    "POST /api/v1/memories/from_messages": {
        "user_id": "user-1",
        "messages": [{"role": "user", "content": "My name is Ada."}],
    },
}
# Headers a route needs besides the key (Odyssey names the end user in a userId header).
ROUTE_HEADERS = {"POST /api/chat/message": {"userId": "user_42"}}
ROUTE_QUERIES = {
    "GET /v1/workspaces": "limit=20",
    "GET /v1/api-keys": "limit=20",
    "GET /v1/providers": "limit=20",
    "GET /v1/agents": "limit=20",
    "GET /v1/conversations": "limit=20&status=active",
    "GET /v1/conversations/{conversation_id}/messages": "limit=20&order=asc",
    "GET /v1/conversations/{conversation_id}/turns": "limit=20",
    "GET /v1/jobs": "limit=20&status=active",
    "GET /v1/jobs/{job_id}/messages": "limit=20&order=asc",
    "GET /v1/inboxes": "limit=20",
    "GET /v1/inboxes/{inbox_id}/files": "limit=20",
    "GET /api/conversations": f"workspaceId={SAMPLE_IDS['workspace_id']}",
    "GET /api/chat/messages": (
        f"workspaceId={SAMPLE_IDS['workspace_id']}&conversationId={SAMPLE_IDS['conversation_id']}"
    ),
    "GET /v2/get_job_config": f"job_id={SHINKAI_JOB_ID}",
    "GET /v2/get_job_scope": f"job_id={SHINKAI_JOB_ID}",
    "GET /v2/all_inboxes": "limit=20&offset=&show_hidden=false",
    "GET /api/v1/messages": f"conversation_id={SAMPLE_IDS['conversation_id']}&limit=100&order_direction=asc",
    "GET /api/v1/conversations": "skip=0&limit=100&status=active",
    "GET /v1/memories": "limit=20&user_id=user-1&sort_order=desc",
    "GET /api/v1/memories": "user_id=user-1&limit=50&sort_by=updated_at&sort_order=desc",
    "GET /api/v1/memories/{memory_id}": "user_id=user-1",
    "DELETE /api/v1/memories/{memory_id}": "user_id=user-1",
}
# Queue message bodies per worker (the turn id doubles as the FIFO deduplication id).
_TURN_COMPLETED = {
    "workspace_id": SAMPLE_IDS["workspace_id"],
    "conversation_id": SAMPLE_IDS["conversation_id"],
    "turn_id": SAMPLE_IDS["turn_id"],
    "request_message_id": SAMPLE_IDS["message_id"],
    "status": "completed",
}
WORKER_BODIES: dict[str, Any] = {
    # The webhook events queue carries EventBridge events, as the WebhookEventsRule puts them there.
    "DispatchWebhooksFunction": {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "turn.completed",
        "source": "parley",
        "account": "123456789012",
        "time": "2024-11-21T10:15:30Z",
        "region": "us-east-1",
        "resources": [],
        "detail": _TURN_COMPLETED,
    },
    # One delivery attempt (parley.models.webhooks.Delivery).
    "DeliverWebhookFunction": {
        "webhook_id": SAMPLE_IDS["webhook_id"],
        "workspace_id": SAMPLE_IDS["workspace_id"],
        "message_id": f"msg_6a7e8feb-b491-4cf7-a9f1-bf3703467718_{SAMPLE_IDS['webhook_id']}",
        "type": "turn.completed",
        "payload": {"type": "turn.completed", "timestamp": "2024-11-21T10:15:30Z", "data": _TURN_COMPLETED},
        "attempt": 1,
    },
    # The ingest queue carries the files bucket's S3 event notifications (one per message).
    "IngestFileFunction": {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2024-11-21T10:15:30.512Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AROAEXAMPLEROLEID:parley-CreateFileFunction"},
                "requestParameters": {"sourceIPAddress": SOURCE_IP},
                "responseElements": {
                    "x-amz-request-id": "C3D13FE58DE4C810",
                    "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "parley-ingest-created",
                    "bucket": {
                        "name": "parley-filesbucket",
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": "arn:aws:s3:::parley-filesbucket",
                    },
                    "object": {
                        "key": "workspaces/{workspace_id}/files/{file_id}/notes.md".format(**SAMPLE_IDS),
                        "size": 1024,
                        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                        "sequencer": "0055AED6DCD90281E5",
                    },
                },
            }
        ]
    },
}
# The route the sample authorizer event asks about, when the template has it.
AUTHORIZER_SAMPLE_ROUTE = "GET /v1/workspaces"


# What a client sends on each WebSocket route (the sample event's body).
WEBSOCKET_FRAMES = {
    "subscribe": {"action": "subscribe", "conversation_id": SAMPLE_IDS["conversation_id"]},
    "unsubscribe": {"action": "unsubscribe", "conversation_id": SAMPLE_IDS["conversation_id"]},
    "ping": {"action": "ping"},
    "$default": {"action": "hello"},
}
WEBSOCKET_CONNECTION_ID = "L0SM9cOFvHcCIhw="


def sample_event(template: Template, function: FunctionSpec) -> dict[str, Any]:
    """The sample event for ``function``, by what triggers it in the template."""
    if function.logical_id in authorizer_functions(template):
        return _authorizer_event(template)
    if function.logical_id in websocket_authorizer_functions(template):
        return _websocket_event("$connect", authorizer=True)
    route_key = websocket_route_of(template, function.logical_id)
    if route_key is not None:
        return _websocket_event(route_key)
    if function.routes:
        return _http_event(function.routes[0])
    if function.properties.get("FunctionUrlConfig"):
        return _function_url_event(function)
    if function.sqs_sources:
        return _sqs_event(template, function)
    if function.schedules:
        name = next(n for n, e in function.properties["Events"].items() if e["Type"] == "Schedule")
        return events.scheduled_event(events.schedule_rule_arn(function.logical_id, name))
    raise ValueError(f"{function.logical_id}: no HttpApi, SQS or Schedule event and not an authorizer")


# Sample events that name resources which do not exist in a fresh deployment, answered by their API's
# documented server error (Shinkai's node answers a missing job or inbox with 500 and this message).
DOCUMENTED_SERVER_ERRORS = {
    "ShinkaiJobMessageFunction": "Failed to retrieve job: ",
    "ShinkaiDownloadFileFromInboxFunction": "Failed to retrieve file from inbox: ",
    # The VFS's node answers a missing job or path as a 500 that says why.
    "ShinkaiUploadFileToJobFunction": "Failed to upload and process file for job ",
    "ShinkaiRetrieveFilesForJobFunction": "Failed to retrieve files for job_id ",
    "ShinkaiGetFolderNameForJobFunction": "Failed to retrieve folder name for job_id ",
    "ShinkaiDownloadFileFunction": "Failed to read file content: ",
    "ShinkaiRetrievePathSimplifiedFunction": "Failed to retrieve directory contents: ",
}


def is_documented_server_error(logical_id: str, status: int, body: str | None) -> bool:
    documented = DOCUMENTED_SERVER_ERRORS.get(logical_id)
    if not documented or status != 500 or not body:
        return False
    try:
        return str(json.loads(body).get("message", "")).startswith(documented)
    except (ValueError, AttributeError):
        return False


def authorizer_functions(template: Template) -> set[str]:
    """Logical ids of the functions the HttpApi's Lambda authorizers point at."""
    found: set[str] = set()
    for authorizer in template.http_api_auth().get("Authorizers", {}).values():
        arn = authorizer.get("FunctionArn")
        if isinstance(arn, Intrinsic) and arn.name == "Fn::GetAtt":
            found.add(str(arn.value[0]))
    return found


def websocket_authorizer_functions(template: Template) -> set[str]:
    api = websocket_api(template)
    return {r.authorizer for r in api.routes.values() if r.authorizer} if api else set()


def websocket_route_of(template: Template, logical_id: str) -> str | None:
    """The WebSocket route whose integration invokes the function, if one does."""
    api = websocket_api(template)
    return next((r.route_key for r in api.routes.values() if r.function == logical_id), None) if api else None


def _websocket_event(route_key: str, *, authorizer: bool = False) -> dict[str, Any]:
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
    headers = {
        "host": DOMAIN,
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
        "sec-websocket-extensions": "permessage-deflate; client_max_window_bits",
        "x-forwarded-for": SOURCE_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        "authorization": f"Bearer {SAMPLE_API_KEY}",
    }
    context = events.websocket_context(
        route_key,
        event_type,
        WEBSOCKET_CONNECTION_ID,
        domain_name=DOMAIN,
        source_ip=SOURCE_IP,
        user_agent="Python/3.13 websockets/17.4",
        authorizer=None
        if authorizer
        else {**AUTHORIZER_CONTEXT, "scope": "", "principalId": SAMPLE_IDS["key_id"]},
    )
    context["apiId"] = API_ID
    if authorizer:
        event = events.websocket_authorizer_event(headers, {}, context)
        event["methodArn"] = event["methodArn"].replace(f":{events.API_ID}/", f":{API_ID}/", 1)
        return event
    if event_type == "CONNECT":
        return events.websocket_connect_event(headers, {}, context)
    if event_type == "DISCONNECT":
        return events.websocket_disconnect_event(context, 1000, "Client closed the connection")
    return events.websocket_message_event(
        json.dumps(WEBSOCKET_FRAMES.get(route_key, {"action": route_key})), context
    )


def _headers(route: HttpRoute, body: bytes | None, content_type: str = "application/json") -> dict[str, str]:
    headers = {
        "accept": "application/json",
        "host": DOMAIN,
        "user-agent": "curl/8.5.0",
        "x-amzn-trace-id": "Root=1-6741f2a0-3c5e7a9b1d3f5a7c9e1b3d5f",
        "x-forwarded-for": SOURCE_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if route.authorizer is not None:
        headers["authorization"] = f"Bearer {SAMPLE_API_KEY}"
    if body is not None:
        headers["content-type"] = content_type
        headers["content-length"] = str(len(body))
    headers.update(ROUTE_HEADERS.get(route.route_key, {}))
    return headers


def _raw_path(route: HttpRoute) -> tuple[str, dict[str, str]]:
    parameters = {name: _sample_id(name) for name in re.findall(r"\{(\w+)\+?\}", route.path)}
    raw_path = re.sub(r"\{(\w+)\+?\}", lambda m: parameters[m.group(1)], route.path)
    return raw_path, parameters


def _sample_id(name: str) -> str:
    return SAMPLE_IDS.get(name) or f"{name.removesuffix('_id')}_01JD2QN7G9K1M3P5R7T9W1Y3A5"


def _http_event(route: HttpRoute) -> dict[str, Any]:
    raw_path, parameters = _raw_path(route)
    sample = ROUTE_BODIES.get(route.route_key)
    content_type = "application/json"
    body: bytes | None = None
    if isinstance(sample, RawBody):
        body, content_type = sample.data, sample.content_type
    elif route.route_key in ROUTE_BODIES:
        body = json.dumps(sample).encode()
    return _deployed(
        events.http_event(
            route,
            route.method,
            raw_path,
            path_parameters=parameters,
            raw_query_string=ROUTE_QUERIES.get(route.route_key, ""),
            headers=_headers(route, body, content_type),
            body=body,
            authorizer_context=AUTHORIZER_CONTEXT if route.authorizer is not None else None,
            source_ip=SOURCE_IP,
            domain_name=DOMAIN,
        )
    )


# What a Function URL function is asked, by its start script's name (there is one).
FUNCTION_URL_REQUESTS = {
    "api/chat/stream.sh": (
        HttpRoute("POST", "/v1/chat/completions", None),
        {"model": "default", "stream": True, "messages": [{"role": "user", "content": "Hello"}]},
    ),
}
FUNCTION_URL_DOMAIN = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.us-east-1.on.aws"


def _function_url_event(function: FunctionSpec) -> dict[str, Any]:
    """A Function URL request (payload 2.0, as HTTP APIs send it, with routeKey $default)."""
    route, sample = FUNCTION_URL_REQUESTS[function.handler]
    body = json.dumps(sample).encode()
    headers = {
        **_headers(route, body),
        "host": FUNCTION_URL_DOMAIN,
        "authorization": f"Bearer {SAMPLE_API_KEY}",
    }
    event = events.http_event(
        route,
        route.method,
        route.path,
        headers=headers,
        body=body,
        source_ip=SOURCE_IP,
        domain_name=FUNCTION_URL_DOMAIN,
    )
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    event["requestContext"].update(
        apiId=FUNCTION_URL_DOMAIN.split(".")[0], accountId="anonymous", stage="$default"
    )
    return event


def _authorizer_event(template: Template) -> dict[str, Any]:
    routes = [r for f in template.functions() for r in f.routes if r.authorizer is not None]
    if not routes:
        raise ValueError("the template has an authorizer but no authorized route to ask about")
    route = next((r for r in routes if r.route_key == AUTHORIZER_SAMPLE_ROUTE), routes[0])
    raw_path, parameters = _raw_path(route)
    headers = _headers(route, None)
    return _deployed(
        events.authorizer_event(
            route,
            route.method,
            raw_path,
            path_parameters=parameters,
            raw_query_string=ROUTE_QUERIES.get(route.route_key, ""),
            headers=headers,
            identity_source=[headers["authorization"]],
            source_ip=SOURCE_IP,
            domain_name=DOMAIN,
        )
    )


def _deployed(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a deployed API sends it: the API's own id rather than the devstack's."""
    event["requestContext"]["apiId"] = API_ID
    if "routeArn" in event:
        event["routeArn"] = event["routeArn"].replace(f":{events.API_ID}/", f":{API_ID}/", 1)
    return event


def _sqs_event(template: Template, function: FunctionSpec) -> dict[str, Any]:
    source = function.sqs_sources[0]
    queue = source.queue_logical_id
    local = LocalResources(template)
    fifo = str(template.resources[queue].get("Properties", {}).get("FifoQueue", "")).lower() == "true"
    default_body = {
        "workspace_id": SAMPLE_IDS["workspace_id"],
        "conversation_id": SAMPLE_IDS["conversation_id"],
    }
    if fifo:  # the FIFO queues carry turns: one message group per conversation, deduplicated by turn
        default_body["turn_id"] = SAMPLE_IDS["turn_id"]
    attributes = {}
    redriven_from = _dead_letter_source(template, queue)
    if redriven_from:
        attributes["DeadLetterQueueSourceArn"] = local.get_att(redriven_from, "Arn")
    record = events.sqs_record(
        json.dumps(WORKER_BODIES.get(function.logical_id, default_body)),
        local.get_att(queue, "Arn"),
        attributes=attributes,
        message_group_id=SAMPLE_IDS["conversation_id"] if fifo else None,
        message_deduplication_id=SAMPLE_IDS["turn_id"] if fifo else None,
    )
    return events.sqs_event([record])


def _dead_letter_source(template: Template, queue: str) -> str | None:
    """The queue whose RedrivePolicy sends its exhausted messages to ``queue``, if any."""
    for logical_id, props in template.resources_of_type("AWS::SQS::Queue").items():
        target = props.get("RedrivePolicy", {}).get("deadLetterTargetArn")
        if isinstance(target, Intrinsic) and target.name == "Fn::GetAtt" and target.value[0] == queue:
            return logical_id
    return None


def problems(template: Template, events_dir: Path) -> list[str]:
    """Why events/ does not match the template: missing, stray or off-route sample events."""
    found: list[str] = []
    functions = {function.logical_id: function for function in template.functions()}
    authorizers = authorizer_functions(template)
    stream_authorizers = websocket_authorizer_functions(template)
    for logical_id, function in functions.items():
        path = events_dir / f"{logical_id}.json"
        if not path.is_file():
            found.append(f"{logical_id}: missing {path.name}")
            continue
        try:
            event = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            found.append(f"{logical_id}: {path.name} is not JSON ({exc})")
            continue
        if logical_id in stream_authorizers:
            shape = (
                []
                if event.get("type") == "REQUEST" and event.get("methodArn")
                else ["not a WebSocket authorizer event"]
            )
        elif function.properties.get("FunctionUrlConfig"):
            shape = (
                []
                if event.get("routeKey") == "$default" and event.get("version") == "2.0"
                else ["not a Function URL event"]
            )
        elif (route_key := websocket_route_of(template, logical_id)) is not None:
            got = (event.get("requestContext") or {}).get("routeKey")
            shape = [] if got == route_key else [f"not a WebSocket {route_key} event (routeKey {got!r})"]
        else:
            shape = _shape_problems(function, event, logical_id in authorizers)
        found.extend(f"{logical_id}: {p}" for p in shape)
    for path in sorted(events_dir.glob("*.json")):
        if path.stem not in functions:
            found.append(f"{path.name}: no function {path.stem} in template.yaml")
    return found


def _shape_problems(function: FunctionSpec, event: Mapping[str, Any], is_authorizer: bool) -> list[str]:
    if is_authorizer:
        if event.get("type") != "REQUEST" or event.get("version") != "2.0":
            return ["not an HTTP API REQUEST authorizer event (payload 2.0)"]
        return []
    if function.routes:
        if event.get("version") != "2.0":
            return ["not an HTTP API payload-2.0 event"]
        if event.get("routeKey") not in {route.route_key for route in function.routes}:
            return [f"routeKey {event.get('routeKey')!r} is none of the function's routes"]
        return []
    if function.sqs_sources:
        records = event.get("Records") or []
        if not records or any(record.get("eventSource") != "aws:sqs" for record in records):
            return ["not an SQS event"]
        return []
    if function.schedules and event.get("detail-type") != "Scheduled Event":
        return ["not a scheduled event"]
    return []


def write(path: Path, event: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(event, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on any problem")
    parser.add_argument("--force", nargs="*", metavar="LOGICAL_ID", help="rewrite these (all if none)")
    parser.add_argument("--events-dir", type=Path, default=None, help="default: events/ of the repo")
    args = parser.parse_args(argv)

    template = load_template()
    events_dir = args.events_dir or template_events_dir(template)
    if args.check:
        found = problems(template, events_dir)
        for problem in found:
            print(f"events/: {problem}", file=sys.stderr)
        return 1 if found else 0

    forced = set(args.force or []) if args.force is not None else set()
    rewrite_all = args.force is not None and not args.force
    unknown = forced - {function.logical_id for function in template.functions()}
    if unknown:
        parser.error(f"not functions of template.yaml: {sorted(unknown)}")
    for function in template.functions():
        path = events_dir / f"{function.logical_id}.json"
        if path.exists() and not rewrite_all and function.logical_id not in forced:
            continue
        write(path, sample_event(template, function))
        print(f"wrote {path.relative_to(events_dir.parent)}")
        if any(
            r.method in ("POST", "PUT", "PATCH") and r.route_key not in ROUTE_BODIES for r in function.routes
        ):
            print(f"  (no body for {function.routes[0].route_key}: add one to ROUTE_BODIES if it takes one)")
    return 0


def template_events_dir(template: Template) -> Path:
    functions = template.functions()
    return functions[0].event_path.parent if functions else Path("events")


if __name__ == "__main__":
    raise SystemExit(main())
