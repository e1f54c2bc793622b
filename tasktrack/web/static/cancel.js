// Cancelling a task: a confirmation <dialog> (Escape or "Keep it running" backs out), then
// POST /v2.0/tasks/{id}/cancel. The dialog hands focus back to the button that opened it.

import { API, ApiError, requestJson } from "./api.js";
import { announce, showError } from "./format.js";

const dialog = () => document.getElementById("cancel-dialog");

/** Resolves true when the user confirms cancelling ``task``. */
export function confirmCancel(task) {
  const box = dialog();
  const opener = document.activeElement;
  document.getElementById("cancel-text").textContent =
    task.status === "active"
      ? `“${task.name}” (${task._id}) is running; it will stop at its next step.`
      : `“${task.name}” (${task._id}) has not started; it will not run.`;
  box.returnValue = "";
  return new Promise((resolve) => {
    box.addEventListener(
      "close",
      () => {
        if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
        resolve(box.returnValue === "confirm");
      },
      { once: true },
    );
    box.showModal();
  });
}

/** Ask, then cancel; returns the task as the server now has it, or null. */
export async function cancelWithConfirmation(task) {
  if (!(await confirmCancel(task))) return null;
  try {
    const updated = await requestJson(`${API}/tasks/${encodeURIComponent(task._id)}/cancel`, {
      method: "POST",
    });
    announce(`${task.name} is ${updated.status}.`);
    showError("");
    return updated;
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) {
      showError(`Could not cancel ${task.name}: ${error.message}`);
    }
    return null;
  }
}
