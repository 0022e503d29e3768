"""What the ingestion queue carries: S3 event notifications (one SQS message each).

https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html — and the
``s3:TestEvent`` message S3 sends once when a bucket's notifications are configured.
"""

from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    # S3 adds fields over time (eventVersion 2.1, 2.2 …): unknown ones are ignored, not an error.
    model_config = ConfigDict(extra="ignore", defer_build=True, populate_by_name=True)


class S3Object(_Lenient):
    raw_key: str = Field(alias="key")  # URL-encoded, spaces as '+'
    size: int | None = None
    etag: str | None = Field(None, alias="eTag")
    sequencer: str | None = None

    @property
    def key(self) -> str:
        return unquote_plus(self.raw_key)


class S3Bucket(_Lenient):
    name: str


class S3Entity(_Lenient):
    bucket: S3Bucket
    object: S3Object


class S3Record(_Lenient):
    event_name: str = Field(alias="eventName")  # e.g. ObjectCreated:Put, ObjectRemoved:Delete
    event_time: str | None = Field(None, alias="eventTime")
    s3: S3Entity


class S3Notification(_Lenient):
    records: list[S3Record] = Field(default_factory=list, alias="Records")
    event: str | None = Field(None, alias="Event")  # "s3:TestEvent" on the test message

    @property
    def is_test(self) -> bool:
        return self.event == "s3:TestEvent"
