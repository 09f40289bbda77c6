/** Every action_id and callback_id the app uses, in one place (listeners and block builders share them). */
export const ActionId = {
  cancelJob: 'job_cancel',
  /** A finished card's follow-ups, each a new request of whoever clicks it. */
  reroll: 'job_reroll',
  extend: 'job_extend',
  upgrade: 'job_upgrade',
  confirmGenerate: 'generate_confirm',
  generateAnyway: 'generate_anyway',
  dismiss: 'dismiss',
  /** "Request a raise" on a refusal (the id of the older "Request approval", so old buttons still work). */
  requestApproval: 'approval_request',
  resumeQueue: 'queue_resume',
  approve: 'approval_approve',
  /** The admins' Raise… button, and its modal (callback_id raiseSubmit). */
  raise: 'approval_raise',
  raiseSubmit: 'approval_raise_submit',
  deny: 'approval_deny',
  /** The /kling batch modal (callback_id). */
  batchSubmit: 'batch_submit',
  /** The message shortcut "Animate with Kling" and its modal (both callback_ids). */
  animate: 'animate',
  /** App Home: an admin edits a budget, or adds one, in a modal (callback_id budgetSubmit). */
  editBudget: 'home_budget_edit',
  newBudget: 'home_budget_new',
  budgetSubmit: 'budget_submit',
} as const;
