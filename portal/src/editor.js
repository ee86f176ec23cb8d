// The state of an edit dialog (components/EditDialog.vue): whether it is open, the row it edits,
// a save in flight and the error of the last save, and the one way a save runs.
import { reactive } from 'vue'
import { ElMessage } from 'element-plus'

/** An edit dialog's state; ``extra`` adds fields of the page's own (say, which kind of row). */
export function editDialog(extra = {}) {
  const editor = reactive({ open: false, row: null, saving: false, error: null, ...extra })

  /** Open on ``row`` (null: a new one), the last save's error forgotten. */
  editor.show = (row) => {
    editor.row = row
    editor.error = null
    editor.open = true
  }

  /** The server's problem with form field ``name`` (for an el-form-item's error), or ''. */
  editor.fieldError = (name) => (editor.error?.fieldProblem ? editor.error.fieldProblem(name) : '')

  /** Run ``request`` (the PUT or POST); when it succeeds say ``done``, close and run ``then`` (a
   * reload). When it fails (a 400's field problems, a 409 for a row changed meanwhile) the dialog
   * stays open with the error under the form, and what the user typed is kept. */
  editor.save = async (request, done, then) => {
    editor.error = null
    editor.saving = true
    try {
      await request()
      ElMessage.success(done)
      editor.open = false
      if (then) await then()
    } catch (e) {
      editor.error = e
    } finally {
      editor.saving = false
    }
  }
  return editor
}
