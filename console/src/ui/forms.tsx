// Form fields on react-aria-components: labelled, described, and showing the API's validation error
// of the field (Form's validationErrors) next to it.
import { useState, type ReactNode } from 'react';
import {
  Button as AriaButton,
  Checkbox as AriaCheckbox,
  CheckboxGroup,
  FieldError,
  Form as AriaForm,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  Popover,
  Select,
  SelectValue,
  Text,
  TextField,
  type ButtonProps,
} from 'react-aria-components';
import type { ApiError } from '../api/client';
import { ErrorNotice } from './notices';

export function Button({
  variant = 'primary',
  ...props
}: ButtonProps & { variant?: 'primary' | 'secondary' | 'danger' }) {
  return <AriaButton {...props} className={`button ${variant}`} />;
}

interface FormProps {
  onSubmit: (values: FormData) => void;
  error: ApiError | null;
  children: ReactNode;
  /** What the form is for, read to screen readers. */
  label: string;
}

/**
 * A form whose API error is shown field by field, and as a whole above the fields, until the next
 * edit: cleared while typing, not when focus leaves the field, so the layout does not move under a
 * click on the submit button.
 */
export function Form({ onSubmit, error, children, label }: FormProps) {
  const [editedSince, setEditedSince] = useState<ApiError | null>(null);
  const shown = error !== null && editedSince !== error ? error : null;
  return (
    <AriaForm
      aria-label={label}
      // The API validates: its errors show on the fields, and the browser's own checks never block a
      // submission.
      validationBehavior="aria"
      validationErrors={shown?.fieldErrors}
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit(new FormData(event.currentTarget));
      }}
    >
      {/* Input events bubble here from every field. */}
      <div className="form" onInput={() => setEditedSince(error)}>
        {shown ? <ErrorNotice error={shown} /> : null}
        {children}
      </div>
    </AriaForm>
  );
}

interface TextInputProps {
  name: string;
  label: string;
  description?: string;
  type?: 'text' | 'email' | 'password' | 'number' | 'url' | 'datetime-local';
  isRequired?: boolean;
  defaultValue?: string;
  autoComplete?: string;
}

export function TextInput({ name, label, description, type = 'text', ...rest }: TextInputProps) {
  return (
    <TextField name={name} type={type} className="field" {...rest}>
      <Label>{label}</Label>
      <Input />
      {description ? <Text slot="description">{description}</Text> : null}
      <FieldError className="field-error" />
    </TextField>
  );
}

export function Choice<T extends string>({
  name,
  label,
  options,
  defaultValue,
}: {
  name: string;
  label: string;
  options: readonly { id: T; label: string }[];
  defaultValue?: T;
}) {
  return (
    <Select name={name} className="field" defaultSelectedKey={defaultValue ?? options[0]?.id}>
      <Label>{label}</Label>
      <AriaButton className="select-button">
        <SelectValue />
        <span aria-hidden="true">▾</span>
      </AriaButton>
      <FieldError className="field-error" />
      <Popover className="popover">
        <ListBox className="listbox">
          {options.map((option) => (
            <ListBoxItem key={option.id} id={option.id} className="listbox-item">
              {option.label}
            </ListBoxItem>
          ))}
        </ListBox>
      </Popover>
    </Select>
  );
}

export function Checkboxes({
  name,
  label,
  options,
  defaultValue,
}: {
  name: string;
  label: string;
  options: readonly string[];
  defaultValue?: string[];
}) {
  return (
    <CheckboxGroup name={name} className="field" defaultValue={defaultValue}>
      <Label>{label}</Label>
      <div className="checkboxes">
        {options.map((option) => (
          <AriaCheckbox key={option} value={option} className="checkbox">
            <span className="box" aria-hidden="true" />
            {option}
          </AriaCheckbox>
        ))}
      </div>
      <FieldError className="field-error" />
    </CheckboxGroup>
  );
}

/** A form value that is a non-empty string, else undefined (the API's optional fields). */
export function optionalText(values: FormData, name: string): string | undefined {
  const value = values.get(name);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function optionalInteger(values: FormData, name: string): number | undefined {
  const text = optionalText(values, name);
  return text === undefined ? undefined : Number(text);
}
