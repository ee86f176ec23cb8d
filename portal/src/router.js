// Routes: staff workbenches behind sign-in (each for its roles), the citizen portal open to all.
import { createRouter, createWebHistory } from 'vue-router'
import { session, homeFor } from './session.js'
import { loadVocabulary } from './labels.js'

const STAFF = ['agent', 'dispatcher', 'handler', 'dept_lead', 'manager', 'admin']

const routes = [
  { path: '/', redirect: () => (session.user ? homeFor(session.user.role) : '/login') },
  { path: '/login', component: () => import('./views/LoginView.vue'), meta: { title: '登录' } },
  {
    path: '/',
    component: () => import('./components/StaffLayout.vue'),
    children: [
      { path: 'agent', component: () => import('./views/staff/AgentWorkbench.vue'), meta: { roles: ['agent'], title: '座席工作台' } },
      { path: 'agent/register', component: () => import('./views/staff/RegisterTicket.vue'), meta: { roles: ['agent'], title: '电话登记' } },
      { path: 'dispatcher', component: () => import('./views/staff/DispatcherWorkbench.vue'), meta: { roles: ['dispatcher'], title: '派审工作台' } },
      { path: 'department', component: () => import('./views/staff/DepartmentWorkbench.vue'), meta: { roles: ['handler', 'dept_lead'], title: '部门工作台' } },
      { path: 'manager', component: () => import('./views/staff/ManagerWall.vue'), meta: { roles: ['manager'], title: '监控大屏' } },
      { path: 'manager/settings', component: () => import('./views/staff/ManagerSettings.vue'), meta: { roles: ['manager'], title: '规则与模板' } },
      { path: 'stats', component: () => import('./views/staff/StatsAnalysis.vue'), meta: { roles: ['dispatcher', 'dept_lead', 'manager'], title: '统计分析' } },
      { path: 'admin/directory', component: () => import('./views/staff/AdminDirectory.vue'), meta: { roles: ['admin'], title: '部门与区划管理' } },
      { path: 'calls', component: () => import('./views/staff/CallCentre.vue'), meta: { roles: ['agent', 'dispatcher', 'manager', 'admin'], title: '话务统计' } },
      { path: 'roster', component: () => import('./views/staff/DutyRoster.vue'), meta: { roles: STAFF, title: '值班表' } },
      { path: 'knowledge', component: () => import('./views/staff/KnowledgeBase.vue'), meta: { roles: ['agent', 'dispatcher', 'handler', 'dept_lead', 'manager'], title: '知识库' } },
      { path: 'partners', component: () => import('./views/staff/PartnerIntegration.vue'), meta: { roles: ['manager', 'admin'], title: '平台对接' } },
      { path: 'admin/models', component: () => import('./views/staff/AdminModels.vue'), meta: { roles: ['admin'], title: '智能分拨模型' } },
      { path: 'admin/workflows/:id?', component: () => import('./views/staff/AdminWorkflow.vue'), meta: { roles: ['admin'], title: '工单流程' } },
      { path: 'search', component: () => import('./views/staff/TicketSearch.vue'), meta: { roles: STAFF, title: '综合查询' } },
      { path: 'mine', component: () => import('./views/staff/MyTickets.vue'), meta: { roles: STAFF, title: '我的工单' } },
      { path: 'tickets/:id', component: () => import('./views/staff/TicketDetail.vue'), meta: { roles: STAFF, title: '工单详情' }, props: true },
    ],
  },
  {
    path: '/citizen',
    component: () => import('./views/citizen/CitizenLayout.vue'),
    children: [
      { path: '', component: () => import('./views/citizen/SubmitView.vue'), meta: { public: true, title: '我要投诉举报' } },
      { path: 'track/:code?', component: () => import('./views/citizen/TrackView.vue'), meta: { public: true, title: '办理进度查询' }, props: true },
    ],
  },
  { path: '/:rest(.*)*', redirect: '/' },
]

export const router = createRouter({ history: createWebHistory('/portal/'), routes })

router.beforeEach(async (to) => {
  if (to.meta.public || to.path === '/login') return true
  if (!session.user) return { path: '/login', query: { next: to.fullPath } }
  const roles = to.meta.roles
  if (roles && !roles.includes(session.user.role)) return homeFor(session.user.role)
  await loadVocabulary() // the labels every staff page shows (a failure leaves codes shown, not a blank page)
  return true
})

router.afterEach((to) => {
  document.title = `${to.meta.title ? to.meta.title + ' · ' : ''}投诉举报处置平台`
})
