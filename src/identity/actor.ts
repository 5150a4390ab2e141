/** Who is acting. Every read or write of user-owned data takes one. */
export interface Actor {
  userId: string;
  role: 'admin' | 'member';
  username: string;
}

export const isAdmin = (actor: Actor): boolean => actor.role === 'admin';
