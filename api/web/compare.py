"""The compare page (`/compare?ids=...`): a placeholder until the compare page lands."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
