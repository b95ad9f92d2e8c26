/** Refusing option keys nobody reads, so a misspelt option is an error rather than silently ignored. */
import { ValidationError } from '../errors';
import { checkOptions } from '../validate';

/** `value` as an options object whose keys are all among `known`; an unknown key is a ValidationError naming it. */
export function checkKnownOptions<T extends object>(name: string, value: T | undefined, known: readonly (keyof T & string)[]): Partial<T> {
  const o = checkOptions(name, value) as Partial<T>;
  for (const key of Object.keys(o)) {
    if (!(known as readonly string[]).includes(key)) {
      throw new ValidationError(`Unknown option ${JSON.stringify(key)} in ${name}; expected one of ${known.map((k) => `'${k}'`).join(', ')}`);
    }
  }
  return o;
}
