/** A Kling error answer: the service code and its message, thrown anywhere below the routes and answered there. */
export class Refusal {
  constructor(
    readonly code: number,
    readonly message: string,
  ) {}
}
