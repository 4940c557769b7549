"""Request and response shapes of the REST API, for validation and the OpenAPI docs.

``PredictResponse`` documents the record of ``ferbench predict --json`` (``Frame.record``); the server returns
that record as built by the pipeline, so the two cannot drift apart in content.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

Detect = Literal["auto", "always", "never"]


class PredictJSON(BaseModel):
    """``POST /predict`` with ``Content-Type: application/json``."""

    model_config = ConfigDict(extra="forbid")
    image: str = Field(..., description="The image file's bytes in base64 (a data: URL is accepted too).")
    detect: Detect = Field("auto", description="auto: images ≤ 96 px are face crops; always; never (whole image).")
    filename: Optional[str] = Field(None, description="Echoed back as `path` (its last component only).")


class Face(BaseModel):
    box: list[int] = Field(..., description="[x, y, w, h] in the image's pixels", min_length=4, max_length=4)
    label: Optional[str] = Field(..., description="The most probable emotion (null if the model gave none)")
    probabilities: dict[str, float] = Field(..., description="Probability of each emotion, in FER order")
    whole_image: Optional[bool] = Field(None, description="Present (true) when the whole image was classified")
    landmarks: Optional[list[list[float]]] = Field(None, description="Eyes, nose, mouth corners (MTCNN only)")
    aligned: Optional[bool] = Field(None, description="Present (true) when the face was aligned on its landmarks")


class PredictResponse(BaseModel):
    path: str = Field(..., description="The client's file name (last component) or 'upload'")
    width: int
    height: int
    faces: list[Face]
    message: Optional[str] = Field(None, description="'no face found' when faces is empty")


class ModelInfo(BaseModel):
    name: str
    classes: list[str]
    accuracy: Optional[float] = Field(None, description="From the model card; null when it has no figure")
    accuracy_ci95: Optional[list[float]] = None
    f1_macro: Optional[float] = None
    split: Optional[str] = None
    n: Optional[int] = None
    measured_by: Optional[str] = Field(None, description="The command that measured the card's figures")
    params: Optional[int] = None
    flops_per_image: Optional[int] = None


class ModelsResponse(BaseModel):
    models: list[ModelInfo]


class Health(BaseModel):
    status: str
    model: str
    detector: str = Field(..., description="haar or mtcnn")
    waiting: int = Field(..., description="Requests waiting for the model")
    calls: int
    batches: int = Field(..., description="Forward passes run (fewer than calls when requests were batched)")
    faces: int
    largest_batch: int


class ErrorResponse(BaseModel):
    error: str
