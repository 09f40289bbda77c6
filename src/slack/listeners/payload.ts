/** The workspace a button or modal came from; payloads from an Enterprise Grid org may carry only the user's team. */
export function teamOf(body: { team?: { id: string } | null; user: { team_id?: string } }): string {
  return body.team?.id ?? body.user.team_id ?? '';
}
