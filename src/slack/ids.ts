/** Every action_id and callback_id the app uses, in one place (listeners and block builders share them). */
export const ActionId = {
  cancelJob: 'job_cancel',
  confirmGenerate: 'generate_confirm',
  generateAnyway: 'generate_anyway',
  dismiss: 'dismiss',
  requestApproval: 'approval_request',
  resumeQueue: 'queue_resume',
} as const;

