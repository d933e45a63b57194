// struct-fu ships no types; this declares the part of its API vxnet uses.
declare module 'struct-fu' {
  export interface Field {
    name: string | null;
    size: number;
    /** Byte offset of a field read from a struct's `fields` map. */
    offset?: number | { bytes: number; bits: number };
    pack(value: unknown, buffer?: Uint8Array): Uint8Array;
    unpack(buffer: Uint8Array): any;
  }
  export interface StructField extends Field {
    fields: Record<string, Field>;
  }
  type NumericType = (name?: string, count?: number) => Field;
  export const uint8: NumericType;
  export const int8: NumericType;
  export const uint16: NumericType;
  export const uint16le: NumericType;
  export const int16: NumericType;
  export const int16le: NumericType;
  export const uint32: NumericType;
  export const uint32le: NumericType;
  export const int32: NumericType;
  export const int32le: NumericType;
  export function byte(name: string, size: number, count?: number): Field;
  export function char(name: string, size: number, count?: number): Field;
  export function struct(fields: Field[], count?: number): StructField;
  export function struct(name: string, fields: Field[], count?: number): StructField;
  export function padTo(offset: number): Field;
  const structFu: {
    uint8: NumericType;
    int8: NumericType;
    uint16: NumericType;
    uint16le: NumericType;
    int16: NumericType;
    int16le: NumericType;
    uint32: NumericType;
    uint32le: NumericType;
    int32: NumericType;
    int32le: NumericType;
    byte: typeof byte;
    char: typeof char;
    struct: typeof struct;
    padTo: typeof padTo;
  };
  export default structFu;
}
