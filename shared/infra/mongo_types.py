"""The MongoDB types regwatch annotates with: documents are plain dicts."""

from __future__ import annotations

from typing import Any, TypeAlias

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.asynchronous.mongo_client import AsyncMongoClient

Document: TypeAlias = dict[str, Any]
Database: TypeAlias = AsyncDatabase[Document]
Collection: TypeAlias = AsyncCollection[Document]
MongoClient: TypeAlias = AsyncMongoClient[Document]
