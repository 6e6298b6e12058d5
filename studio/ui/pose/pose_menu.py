"""The pose canvas's right-click menu: hide or show joints, hands, mirror, delete. Each entry proposes an edit
through the ``propose`` callback (the canvas's ``PoseCanvas.propose``) that the editor puts on its undo stack.

The menu takes the pose and the callback rather than the canvas, so that this module need not import
``pose_canvas``, which imports it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMenu, QWidget

from studio.pose.person import Person
from studio.pose.pose import Pose
from studio.pose.skeleton import BODY_KEYPOINTS

# ``propose(after, text, selected_after)``: ask for the edit to ``after``, named ``text`` on the undo stack.
Propose = Callable[[Pose, str, int | None], None]


def joint_name(index: int) -> str:
    """``"right wrist"`` for ``r_wrist``: how the menu names a body keypoint."""
    return BODY_KEYPOINTS[index].replace("r_", "right ").replace("l_", "left ")


def selection_after_delete(count: int, index: int) -> int | None:
    """Who is selected after person ``index`` of ``count`` is deleted: the next one, else the new last one."""
    return min(index, count - 2) if count > 1 else None


def person_menu(
    pose: Pose, number: int, propose: Propose, parent: QWidget | None = None, joint: int | None = None
) -> QMenu:
    """The menu for person ``number`` of ``pose``, with "Hide <joint>" first when the click was on body
    ``joint``; each entry calls ``propose`` with the edited pose."""
    person = pose.people[number]
    menu = QMenu(parent)

    def add(target: QMenu, label: str, text: str, after: Person) -> None:
        changed = pose.with_person(number, after)
        target.addAction(label, lambda: propose(changed, text, number))

    if joint is not None:
        text = f"Hide {joint_name(joint)}"
        add(menu, text, text, person.hide_keypoint(joint))
    hidden = [i for i, p in enumerate(person.body) if p is None]
    if hidden:
        show = menu.addMenu("Show joint")
        for index in hidden:
            add(show, joint_name(index), f"Show {joint_name(index)}", person.show_keypoint(index))
    if person.left_hand is None and person.right_hand is None:
        add(menu, "Add hands", "Add hands", person.with_default_hands())
    else:
        add(menu, "Remove hands", "Remove hands", person.without_hands())
    add(menu, "Mirror left/right", "Mirror person", person.mirror())
    menu.addSeparator()
    after = selection_after_delete(len(pose.people), number)
    menu.addAction("Delete person", lambda: propose(pose.remove_person(number), "Delete person", after))
    return menu
