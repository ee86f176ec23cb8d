// The category tree (诉求分类: 领域 → 事项 → 具体问题) from GET /categories, loaded once per session:
// the registration cascader offers the active entries; lists show a ticket's category by its path.
import { reactive } from 'vue'
import { api } from './api.js'
import { loadedOnce } from './loader.js'

export const categoryTree = reactive({ nodes: [], byCode: {}, loaded: false, error: null })

function index(nodes, path, out) {
  for (const n of nodes) {
    out[n.code] = [...path, n.name]
    index(n.children || [], out[n.code], out)
  }
  return out
}

const session = loadedOnce(categoryTree, async () => {
  const answer = await api.get('/categories')
  categoryTree.nodes = answer.tree || []
  categoryTree.byCode = index(categoryTree.nodes, [], {})
})

/** The tree, asked once per session. */
export const loadCategories = session.load
/** Load again (after an admin changed the tree). */
export const reloadCategories = session.reload

/** A stored category as a person reads it: the path of a code, or an old ticket's free text as written. */
export function categoryLabel(value) {
  if (!value) return '未分类'
  const path = categoryTree.byCode[value]
  return path ? path.join(' / ') : value
}
