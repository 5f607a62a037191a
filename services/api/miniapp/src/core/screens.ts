// A screen is one small module: its id, the mode it belongs to, its title's catalogue key and
// its component. `src/screens/index.ts` lists them; a screen with `tab` shows in the mode's tab bar.
import type { ComponentType } from "preact";

export type Mode = "admin" | "owner";

export interface ScreenProps {
  params: Record<string, any>;
}

export interface Screen {
  id: string;
  mode: Mode;
  /** catalogue key of the title */
  title: string;
  /** order in the mode's tab bar; screens without it are opened from other screens */
  tab?: number;
  component: ComponentType<ScreenProps>;
}

export function defineScreen(s: Screen): Screen {
  return s;
}
