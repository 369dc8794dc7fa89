// The one API module. At start it picks the transport: inside the desktop
// window the Wails runtime exposes the bound App as window.go.main.App; in a
// LAN browser every method is POST /api/App.<Method> with the JSON argument
// list. Both reach the very same Go methods.

export type Role = 'SUPER_ADMIN' | 'ADMIN' | 'MANAGER' | 'AGENT' | 'VENDOR' | 'CUSTOMER'
export type Capability = 'users' | 'audit' | 'settings' | 'cross-tenant' | 'profile'

export interface UserView {
  id: number
  email: string
  name: string
  role: Role
  active: boolean
  mfaEnabled: boolean
  jobTitle: string
  officeAddress: string
  notes: string
  tenantId: number
  createdAt: string
  lastLoginAt: string | null
  lockedUntil: string | null
  /** They have a temporary password to replace at their next sign-in. */
  mustChangePassword: boolean
}

export interface TenantView {
  id: number
  name: string
  adminTenancy: boolean
}

export interface Me {
  user: UserView
  tenant: TenantView
  capabilities: Capability[]
  inviteRoles: Role[]
  multiTenant: boolean
  memberships: MembershipView[]
  mustEnrol: boolean
  /** Held at the change-password step: a temporary password to replace first. */
  mustChangePassword: boolean
  security: SecurityPolicy
  demo: boolean
}

export interface AuditFilter {
  text?: string
  action?: string
  resource?: string
  user?: string
  since?: string
  until?: string
  tenantId?: number
  cursor?: string
  limit?: number
}

export interface AuditEvent {
  id: number
  time: string
  actorName: string
  actorEmail: string
  action: string
  resourceType: string
  resourceId: string
  ip: string
  tenantId: number
  meta: unknown
  actorId: number
  subjectName: string // whom the event is about, when not the actor
  subjectEmail: string
  change: string // one line: "role AGENT → MANAGER"
}

export interface ChainReport {
  ok: boolean
  checked: number
  pruned: number
  brokenId?: number
  brokenAt?: string
  problem?: string
}

export interface SecurityPolicy {
  recoveryCodes: boolean
  requireMfaForAdmins: boolean
  adminReset2fa: boolean
}

export interface SignInResult {
  step: 'done' | 'totp' | 'enrol' | 'password'
  me: Me | null
  /** At the code step: recovery codes are on and this user has some left. */
  recoveryCodes: boolean
}

export interface TOTPEnrolment {
  secret: string
  url: string
  qr: string
}

export interface SessionView {
  id: string
  device: string
  ip: string
  createdAt: string
  lastSeenAt: string
  current: boolean
}

export interface LANInfo {
  running: boolean
  urls: string[]
  https: boolean
  fingerprint: string
  customCert: boolean
  subject: string
  notAfter: string
}

export interface MembershipView extends TenantView {
  shadow: boolean
}

export interface TenantRow extends TenantView {
  members: number
  createdAt: string
}

export interface UserMembership extends TenantView {
  member: boolean
  shadow: boolean
  default: boolean
  primary: boolean
}

export interface MailStatus {
  state: 'queued' | 'sent' | 'failed' | 'cancelled'
  /** 'no_smtp' when it was not sent because e-mail was not set up. */
  reason?: string
  error: string
  attempts: number
  nextAttemptAt: string | null
  sentAt: string | null
}

export interface InvitationView {
  id: number
  email: string
  role: Role
  tenantId: number
  inviterName: string
  state: 'pending' | 'expired' | 'accepted' | 'revoked'
  createdAt: string
  expiresAt: string
  mail: MailStatus | null
}

export interface InviteResult {
  invitation: InvitationView
  link: string
}

export interface InvitationInfo {
  state: 'pending' | 'expired' | 'accepted' | 'revoked' | 'unknown'
  email: string
  role: Role
  tenantName: string
  inviterName: string
  inviterEmail: string
  expiresAt: string
  /** The address already has a sign-in: accepting adds this tenant to it. */
  hasAccount: boolean
}

export interface InvitationList {
  invitations: InvitationView[]
  next: string
  pending: number
  /** Live invitations not e-mailed because e-mail was not set up. */
  unsent: number
}

export interface CreateUserInput {
  email: string
  name: string
  role: string
  password: string
  jobTitle: string
  officeAddress: string
  notes: string
  tenantId?: number
  /** Ask them to choose their own password at first sign-in; omitted means yes. */
  mustChangePassword?: boolean
}

export interface UserDetail {
  user: UserView
  canEdit: boolean
  canChangeRole: boolean
  reason: string
  roles: Role[]
}

export interface Settings {
  baseUrl: string
  defaultBaseUrl: string
  multiTenant: boolean
  security: SecurityPolicy
  retentionDays: number
  lan: LANInfo
  lanEnabled: boolean
  backupKeepDays: number
  backupRecipient: string
  smtp: {
    host: string
    port: number
    security: string
    username: string
    hasPassword: boolean
    fromName: string
    fromAddress: string
    configured: boolean
  }
}

export interface SettingsInput {
  baseUrl?: string
  multiTenant?: boolean
  recoveryCodes?: boolean
  requireMfaForAdmins?: boolean
  adminReset2fa?: boolean
  retentionDays?: number
  lanEnabled?: boolean
  backupKeepDays?: number
  smtpHost?: string
  smtpPort?: number
  smtpSecurity?: string
  smtpUsername?: string
  smtpPassword?: string
  smtpFromName?: string
  smtpFromAddress?: string
}

/** One consequence of a settings change worth confirming, counted by the server. */
export interface SettingsRisk {
  /** The SettingsInput field that causes it. */
  setting: keyof SettingsInput
  title: string
  message: string
  count: number
}

export interface SettingsImpact {
  risks: SettingsRisk[]
}

export interface UserRow {
  id: number
  name: string
  email: string
  role: Role
  mfaEnabled: boolean
  active: boolean
  lastLoginAt: string | null
  lockedUntil: string | null
  /** Holds a temporary password. */
  mustChangePassword: boolean
  /** The caller may change this user (edit, deactivate, unlock); why says why not. */
  canChange: boolean
  why?: string
}

export interface UserPage {
  users: UserRow[]
  next: string
  prev: string
  /** How many users match; with totalAtLeast, a lower bound (shown as "10,000+"). */
  total: number
  totalAtLeast: boolean
}

export type UserSort = 'name' | 'email' | 'role' | 'mfa' | 'status' | 'lastLogin'

export type BulkAction = 'deactivate' | 'reactivate' | 'role'

export interface BulkInput {
  ids: number[]
  action: BulkAction
  /** The new role, for action 'role'. */
  role?: Role
}

/** What a bulk action did; name is a user's name or an invitation's address. */
export interface BulkResult {
  done: { id: number; name: string }[]
  /** name is missing when the caller may not see that user or invitation. */
  refused: { id: number; name?: string; why: string }[]
}

export interface ListUsersInput {
  search?: string
  role?: string
  status?: '' | 'active' | 'inactive'
  sort?: UserSort
  desc?: boolean
  after?: string
  before?: string
  limit?: number
  tenantId?: number
}

export interface SetupStatus {
  needed: boolean
  codeRequired: boolean
  /** E-mail is set up: "Forgot password?" works, and invitations are e-mailed. */
  resetByEmail: boolean
}

export interface PasswordResetInfo {
  state: 'valid' | 'expired' | 'unknown'
  email?: string
}

/** A reset link an administrator made: e-mailed when mail is set up, shown either way. */
export interface ResetLink {
  link: string
  emailed: boolean
  expiresAt: string
}

export interface SetupInput {
  organisation: string
  email: string
  name: string
  password: string
  code?: string
}

/** An error the user can act on: message is safe to show, field names the input. */
export class ApiError extends Error {
  code: string
  field?: string
  constructor(code: string, message: string, field?: string) {
    super(message)
    this.code = code
    this.field = field || undefined
  }
}

export type Transport = (method: string, args: unknown[]) => Promise<unknown>

interface WailsWindow {
  go?: { main?: { App?: Record<string, (...a: unknown[]) => Promise<unknown>> } }
}

/** toApiError turns whatever a transport rejected with into an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e
  let v: unknown = e
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v)
    } catch {
      return new ApiError('internal', v as string)
    }
  }
  if (v && typeof v === 'object' && 'message' in v) {
    const o = v as { code?: string; message: string; field?: string }
    return new ApiError(o.code ?? 'internal', String(o.message), o.field)
  }
  return new ApiError('internal', 'Something went wrong. Please try again.')
}

/** The Wails bindings, when running inside the desktop window. */
export function wailsTransport(app: Record<string, (...a: unknown[]) => Promise<unknown>>): Transport {
  return async (method, args) => {
    const fn = app[method]
    if (!fn) throw new ApiError('internal', `This Gatehouse has no method ${method}.`)
    try {
      return await fn(...args)
    } catch (e) {
      throw toApiError(e)
    }
  }
}

/** HTTP to the LAN server. */
export function httpTransport(fetchFn: typeof fetch = fetch): Transport {
  return async (method, args) => {
    let res: Response
    try {
      res = await fetchFn(`/api/App.${method}`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-Gatehouse': '1' },
        body: JSON.stringify(args),
      })
    } catch {
      throw new ApiError('network', 'Cannot reach Gatehouse. Check that it is still running and try again.')
    }
    const body = await res.json().catch(() => null)
    if (!res.ok) {
      throw toApiError(body ?? { code: 'internal', message: `Gatehouse answered with an error (${res.status}).` })
    }
    return body
  }
}

export function pickTransport(win: WailsWindow = globalThis as WailsWindow): Transport {
  const app = win.go?.main?.App
  return app ? wailsTransport(app) : httpTransport()
}

let transport: Transport | undefined
let onSignedOut: (() => void) | undefined
let onMFARequired: (() => void) | undefined
let onPasswordChangeRequired: (() => void) | undefined
let onDamaged: (() => void) | undefined

/** useTransport replaces the transport (tests). */
export function useTransport(t: Transport) {
  transport = t
}

/** whenSignedOut registers what to do when a call finds the session gone. */
export function whenSignedOut(fn: () => void) {
  onSignedOut = fn
}

/** whenMFARequired registers what to do when policy requires 2FA set-up first. */
export function whenMFARequired(fn: () => void) {
  onMFARequired = fn
}

/** whenPasswordChangeRequired registers what to do when a temporary password must be replaced first. */
export function whenPasswordChangeRequired(fn: () => void) {
  onPasswordChangeRequired = fn
}

/** whenDamaged registers what to do when the server reports a damaged database. */
export function whenDamaged(fn: () => void) {
  onDamaged = fn
}

export function inDesktop(): boolean {
  return !!(globalThis as WailsWindow).go?.main?.App
}

// Methods that work without a session: their failures never mean "signed out".
const publicMethods = new Set([
  'SignIn',
  'SignInTOTP',
  'SetupStatus',
  'Setup',
  'InvitationInfo',
  'AcceptInvitation',
  'RequestPasswordReset',
  'PasswordResetInfo',
  'ResetPassword',
])

async function call<T>(method: string, ...args: unknown[]): Promise<T> {
  transport ??= pickTransport()
  try {
    return (await transport(method, args)) as T
  } catch (e) {
    const err = toApiError(e)
    if (err.code === 'unauthenticated' && !publicMethods.has(method)) onSignedOut?.()
    if (err.code === 'mfa_required') onMFARequired?.()
    if (err.code === 'password_change_required') onPasswordChangeRequired?.()
    if (err.code === 'damaged') onDamaged?.()
    throw err
  }
}

export const api = {
  setupStatus: () => call<SetupStatus>('SetupStatus'),
  setup: (input: SetupInput) => call<SignInResult>('Setup', input),
  /** remember: "Keep me signed in on this computer" (the window only; the LAN server ignores it). */
  signIn: (email: string, password: string, remember = false) => call<SignInResult>('SignIn', { email, password, remember }),
  signInTOTP: (code: string) => call<Me>('SignInTOTP', { code }),
  signOut: () => call<null>('SignOut'),
  me: () => call<Me>('Me'),
  listUsers: (input: ListUsersInput) => call<UserPage>('ListUsers', input),
  getUser: (id: number) => call<UserDetail>('GetUser', id),
  createUser: (input: CreateUserInput) => call<UserView>('CreateUser', input),
  updateUser: (input: { id: number; name?: string; role?: string }) => call<UserView>('UpdateUser', input),
  deactivateUser: (id: number) => call<UserView>('DeactivateUser', id),
  reactivateUser: (id: number) => call<UserView>('ReactivateUser', id),
  bulkUsers: (input: BulkInput) => call<BulkResult>('BulkUsers', input),
  inviteUser: (input: { email: string; role: string; tenantId?: number }) => call<InviteResult>('InviteUser', input),
  listInvitations: (all: boolean, after = '') => call<InvitationList>('ListInvitations', { all, after }),
  sendUnsentInvitations: () => call<number>('SendUnsentInvitations'),
  invitationLink: (id: number) => call<string>('InvitationLink', id),
  resendInvitation: (id: number) => call<InviteResult>('ResendInvitation', id),
  bulkResendInvitations: (ids: number[]) => call<BulkResult>('BulkResendInvitations', { ids }),
  revokeInvitation: (id: number) => call<InvitationView>('RevokeInvitation', id),
  invitationInfo: (token: string) => call<InvitationInfo>('InvitationInfo', token),
  acceptInvitation: (input: { token: string; name: string; password: string }) => call<SignInResult>('AcceptInvitation', input),
  getSettings: () => call<Settings>('GetSettings'),
  updateSettings: (input: SettingsInput) => call<Settings>('UpdateSettings', input),
  settingsImpact: (input: SettingsInput) => call<SettingsImpact>('SettingsImpact', input),
  sendTestEmail: (to: string) => call<{ sent: boolean; error: string }>('SendTestEmail', to),
  listTenants: () => call<TenantRow[]>('ListTenants'),
  createTenant: (name: string) => call<TenantView>('CreateTenant', name),
  renameTenant: (id: number, name: string) => call<TenantView>('RenameTenant', { id, name }),
  switchTenant: (id: number) => call<Me>('SwitchTenant', id),
  getUserMemberships: (id: number) => call<UserMembership[]>('GetUserMemberships', id),
  setUserMemberships: (input: { userId: number; tenantIds: number[]; defaultTenantId: number }) => call<UserMembership[]>('SetUserMemberships', input),
  beginTOTP: () => call<TOTPEnrolment>('BeginTOTP'),
  confirmTOTP: (code: string) => call<{ recoveryCodes: string[] | null; me: Me }>('ConfirmTOTP', { code }),
  disableTOTP: (password: string, code: string) => call<Me>('DisableTOTP', { password, code }),
  newRecoveryCodes: (password: string) => call<string[]>('NewRecoveryCodes', { password }),
  resetUserTOTP: (userId: number, password: string) => call<UserView>('ResetUserTOTP', { userId, password }),
  changePassword: (current: string, next: string) => call<null>('ChangePassword', { current, new: next }),
  requestPasswordReset: (email: string) => call<null>('RequestPasswordReset', { email }),
  passwordResetInfo: (token: string) => call<PasswordResetInfo>('PasswordResetInfo', token),
  resetPassword: (token: string, password: string) => call<{ email: string }>('ResetPassword', { token, password }),
  sendPasswordReset: (userId: number) => call<ResetLink>('SendPasswordReset', userId),
  setTemporaryPassword: (userId: number, password: string) => call<UserView>('SetTemporaryPassword', { userId, password }),
  listMySessions: () => call<SessionView[]>('ListMySessions'),
  listUserSessions: (userId: number) => call<SessionView[]>('ListUserSessions', userId),
  endUserSession: (userId: number, sessionId: string) => call<null>('EndUserSession', { userId, sessionId }),
  signOutSession: (id: string) => call<null>('SignOutSession', id),
  signOutEverywhere: () => call<null>('SignOutEverywhere'),
  unlockUser: (id: number) => call<UserView>('UnlockUser', id),
  setLANCertificate: (certPem: string, keyPem: string) => call<LANInfo>('SetLANCertificate', { certPem, keyPem }),
  listAudit: (f: AuditFilter) => call<{ events: AuditEvent[]; next: string }>('ListAudit', f),
  auditStats: (tenantId = 0) => call<{ events: number; activeUsers: number; topAction: string; topCount: number }>('GetAuditStats', tenantId),
  auditOptions: (tenantId = 0) => call<{ actions: string[]; resources: string[]; users: string[] }>('GetAuditOptions', tenantId),
  suggestAuditUsers: (tenantId: number, prefix: string) => call<{ email: string; name: string }[]>('SuggestAuditUsers', tenantId, prefix),
  verifyAudit: () => call<ChainReport>('VerifyAudit'),
  backupNow: () => call<{ path: string; size: number }>('BackupNow'),
  saveAuditExport: (f: AuditFilter, format: 'csv' | 'jsonl') => call<{ path: string; events: number; cancelled: boolean }>('SaveAuditExport', f, format),
  /** The desktop window's "Save as CSV…" of the users list (browsers use GET /download/users). */
  saveUsersExport: (input: ListUsersInput) => call<{ path: string; users: number; cancelled: boolean }>('SaveUsersExport', input),
  saveBackup: (passphrase: string) => call<{ path: string; size: number; cancelled: boolean }>('SaveBackup', passphrase),
  newBackupRecoveryKey: () => call<{ identity: string; recipient: string }>('NewBackupRecoveryKey'),
}

/** Downloads an encrypted backup in a browser: the passphrase goes in the
 * POST body, never the URL. Resolves with the file's size. */
export async function downloadBackup(passphrase: string): Promise<number> {
  let res: Response
  try {
    res = await fetch('/download/backup', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Gatehouse': '1' },
      body: new URLSearchParams({ passphrase }),
    })
  } catch {
    throw new ApiError('network', 'Cannot reach Gatehouse. Check that it is still running and try again.')
  }
  if (!res.ok) throw toApiError(await res.json().catch(() => ({ code: 'internal', message: `The backup failed (${res.status}).` })))
  const blob = await res.blob()
  const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '')?.[1] ?? 'gatehouse-backup.tar.age'
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return blob.size
}
