"""Head pose from the rigid mesh fit: near frontal on a frontal face, signs follow the image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.pipeline import FacePipeline
from inference.pose import angles_from_rotation
from inference.types import FrameAnalysis, HeadPose


def _pose(pipeline: FacePipeline, image: np.ndarray) -> HeadPose:
    faces = pipeline.track(image).faces
    assert len(faces) == 1 and faces[0].pose is not None
    return faces[0].pose


def test_near_frontal_on_a_frontal_face(portrait_analyses: dict[str, FrameAnalysis]) -> None:
    pose = portrait_analyses["obama.jpg"].faces[0].pose
    assert pose is not None
    assert abs(pose.yaw) < 8 and abs(pose.pitch) < 10 and abs(pose.roll) < 8


def test_roll_follows_an_image_rotation_and_flips_with_the_image(
        face_pipeline: FacePipeline, portraits: dict[str, np.ndarray]) -> None:
    image = portraits["obama.jpg"]
    h, w = image.shape[:2]
    turned = cv2.warpAffine(image, cv2.getRotationMatrix2D((w / 2, h / 2), 15.0, 1.0), (w, h))
    base = _pose(face_pipeline, image)
    rolled = _pose(face_pipeline, turned)
    mirrored = _pose(face_pipeline, np.ascontiguousarray(turned[:, ::-1]))
    # Counter-clockwise on the image (head towards the person's right shoulder) is positive.
    assert rolled.roll - base.roll == pytest.approx(15.0, abs=4.0)
    assert mirrored.roll == pytest.approx(-rolled.roll, abs=4.0)
    assert rolled.roll > 8 and mirrored.roll < -8


def test_yaw_changes_sign_on_a_mirrored_turned_face(
        face_pipeline: FacePipeline, portraits: dict[str, np.ndarray]) -> None:
    image = portraits["obama2.jpg"]  # head turned to the person's right, nose to the image left
    pose = _pose(face_pipeline, image)
    mirrored = _pose(face_pipeline, np.ascontiguousarray(image[:, ::-1]))
    assert pose.yaw < -8
    assert mirrored.yaw > 8
    assert mirrored.yaw == pytest.approx(-pose.yaw, abs=4.0)


def test_angles_of_known_rotations() -> None:
    a = np.radians(30.0)
    yaw_rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    pose = angles_from_rotation(yaw_rot)
    assert pose.yaw == pytest.approx(30.0) and abs(pose.pitch) < 1e-6 and abs(pose.roll) < 1e-6
    pitch_rot = np.array([[1, 0, 0], [0, np.cos(a), np.sin(a)], [0, -np.sin(a), np.cos(a)]])
    assert angles_from_rotation(pitch_rot).pitch == pytest.approx(30.0)
    roll_rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    assert angles_from_rotation(roll_rot).roll == pytest.approx(30.0)
