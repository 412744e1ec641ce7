import { useState } from 'react';
import { useApiMutation, useApiQuery } from '../../api/client';
import type { List } from '../../api/types';
import { Button, Form, optionalText, TextInput } from '../../ui/forms';
import { EmptyState, ErrorNotice, Loaded } from '../../ui/notices';
import { Section } from '../../ui/page';

interface Team {
  id: string;
  name: string;
  description: string;
}

interface TeamMember {
  userId: string;
  email: string;
}

interface Member {
  userId: string;
  email: string;
}

export function Teams({ orgId }: { orgId: string }) {
  const base = `/api/orgs/${orgId}/teams`;
  const teams = useApiQuery<List<Team>>(base);
  const create = useApiMutation<Team, FormData>(
    (values) => ({
      method: 'POST',
      path: base,
      body: { name: values.get('name'), description: optionalText(values, 'description') },
    }),
    [base],
  );
  const remove = useApiMutation<unknown, string>(
    (id) => ({ method: 'DELETE', path: `${base}/${id}` }),
    [base],
  );
  return (
    <Section title="Teams">
      {remove.error ? <ErrorNotice error={remove.error} /> : null}
      <Loaded query={teams} what="the teams">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No teams yet.">
              <p>Teams group members and keys; usage can be read by team.</p>
            </EmptyState>
          ) : (
            <ul className="cards">
              {items.map((team) => (
                <li key={team.id} className="card">
                  <h3>{team.name}</h3>
                  {team.description ? <p>{team.description}</p> : null}
                  <TeamMembers orgId={orgId} team={team} />
                  <Button
                    variant="danger"
                    onPress={() => remove.mutate(team.id)}
                    aria-label={`Delete team ${team.name}`}
                  >
                    Delete team
                  </Button>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      <Form label="Create a team" error={create.error} onSubmit={(values) => create.mutate(values)}>
        <TextInput name="name" label="Team name" isRequired />
        <TextInput name="description" label="Description" />
        <Button type="submit" isDisabled={create.isPending}>
          Create team
        </Button>
      </Form>
    </Section>
  );
}

function TeamMembers({ orgId, team }: { orgId: string; team: Team }) {
  const path = `/api/orgs/${orgId}/teams/${team.id}/members`;
  const members = useApiQuery<List<TeamMember>>(path);
  const orgMembers = useApiQuery<List<Member>>(`/api/orgs/${orgId}/members`);
  const [chosen, setChosen] = useState('');
  const add = useApiMutation<unknown, string>(
    (userId) => ({ method: 'PUT', path: `${path}/${userId}` }),
    [path],
  );
  const drop = useApiMutation<unknown, string>(
    (userId) => ({ method: 'DELETE', path: `${path}/${userId}` }),
    [path],
  );
  const error = add.error ?? drop.error;
  return (
    <div>
      {error ? <ErrorNotice error={error} /> : null}
      <Loaded query={members} what="the team's members">
        {({ items }) => (
          <ul>
            {items.map((m) => (
              <li key={m.userId}>
                {m.email}{' '}
                <Button
                  variant="secondary"
                  onPress={() => drop.mutate(m.userId)}
                  aria-label={`Remove ${m.email} from ${team.name}`}
                >
                  Remove
                </Button>
              </li>
            ))}
          </ul>
        )}
      </Loaded>
      <label className="inline-select">
        Add a member to {team.name}{' '}
        <select value={chosen} onChange={(e) => setChosen(e.target.value)}>
          <option value="">Choose…</option>
          {(orgMembers.data?.items ?? []).map((m) => (
            <option key={m.userId} value={m.userId}>
              {m.email}
            </option>
          ))}
        </select>
      </label>{' '}
      <Button variant="secondary" isDisabled={!chosen} onPress={() => add.mutate(chosen)}>
        Add
      </Button>
    </div>
  );
}
